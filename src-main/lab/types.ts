/**
 * What a running lab server looks like to its users: the tests, `mailvault lab up`, and the app's
 * built-in sandbox. Everything a client needs to reach it, as a real Zimbra admin would: SSH, the
 * MariaDB socket/port, and the LDAP URL with the bind user from localconfig.
 */
export interface LabServerInfo {
  /** The server's Zimbra host name (zimbra_server_hostname, zimbraMailHost of its accounts). */
  hostname: string;
  /** Root of the Zimbra tree (what /opt/zimbra is on a real server). */
  zimbraHome: string;
  mariadb: { socket: string; host: string; port: number; user: string; password: string };
  ldap: { url: string; bindDn: string; password: string; baseDn: string };
  ssh: {
    host: string;
    port: number;
    user: string;
    /** Private key (OpenSSH PEM) that the lab generated for its client. */
    privateKeyPath: string;
    /** Host key fingerprint as OpenSSH prints it: SHA256:<base64 without padding>. */
    hostKeyFingerprint: string;
  };
}

export interface LabInfo {
  /** Directory holding every file of this lab (datadirs, sockets, zimbra homes, keys). */
  dir: string;
  servers: LabServerInfo[];
}

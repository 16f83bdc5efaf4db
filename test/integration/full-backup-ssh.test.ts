import fs from 'node:fs';
import { SshTransport } from '../../src-main/engine/transport';
import { fullBackupSuite } from '../helpers/full-backup-suite';

// The same promise with the engine elsewhere: files, MariaDB and LDAP all over one SSH connection.
fullBackupSuite(
  'SSH',
  async (server) =>
    SshTransport.connect({
      name: server.hostname,
      host: server.ssh.host,
      port: server.ssh.port,
      username: server.ssh.user,
      privateKey: fs.readFileSync(server.ssh.privateKeyPath),
      hostKeyFingerprint: server.ssh.hostKeyFingerprint,
    }),
  false,
);

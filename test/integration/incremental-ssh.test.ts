import fs from 'node:fs';
import { SshTransport } from '../../src-main/engine/transport';
import { incrementalSuite } from '../helpers/incremental-suite';

// The engine on a workstation: the archive listed, copied and pruned over one SSH connection.
incrementalSuite(
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

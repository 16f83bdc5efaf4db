import { LocalTransport } from '../../src-main/engine/transport';
import { incrementalSuite } from '../helpers/incremental-suite';

incrementalSuite(
  'the local transport',
  async (server) => new LocalTransport({ name: server.hostname }),
  true,
);

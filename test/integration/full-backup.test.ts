import { LocalTransport } from '../../src-main/engine/transport';
import { fullBackupSuite } from '../helpers/full-backup-suite';

fullBackupSuite('the local transport', async (server) => new LocalTransport({ name: server.hostname }), true);

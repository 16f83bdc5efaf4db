// A backup that gets killed (used by session-writer.test.ts): takes the lock, starts a session,
// writes a little, leaves a stream open, prints the label, and waits to be killed.
import { acquireLock } from '../../../src-main/engine/target/lock';
import { SessionWriter } from '../../../src-main/engine/target/session-writer';

const target = process.argv[2] as string;
const lock = await acquireLock(target, { operation: 'full backup' });
const session = await SessionWriter.create(target, { type: 'full', lock });
await session.writeFile('sys/localconfig.xml', '<localconfig/>\n');
const sql = await session.createMailboxSqlStream('1b4e28ba-2fa1-11d2-883f-0016d3cca427');
sql.write('INSERT INTO mail_item VALUES (1);\n');
process.stdout.write(`${session.label}\n`);
setInterval(() => undefined, 1000);

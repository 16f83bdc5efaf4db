import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { StandbyLink } from './contract';

/**
 * Which saved server is each server's standby, in `<config dir>/standby.json`. Kept apart from
 * servers.json so the server form (which rewrites a profile whole) never drops a link, and a
 * link to a server removed since is reported, not silently followed.
 */
const fileSchema = z.object({
  format: z.literal(1),
  links: z.record(z.string(), z.object({ standbyServerId: z.string(), dir: z.string().optional() })),
});

export class StandbyLinks {
  private writing: Promise<unknown> = Promise.resolve();
  readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, 'standby.json');
  }

  async get(serverId: string): Promise<StandbyLink | undefined> {
    return (await this.read())[serverId];
  }

  async all(): Promise<Record<string, StandbyLink>> {
    return this.read();
  }

  /** One change at a time, written whole (temp file, rename). */
  set(serverId: string, link: StandbyLink | null): Promise<void> {
    const run = this.writing.then(async () => {
      const links = await this.read();
      if (link) links[serverId] = link;
      else delete links[serverId];
      await fs.promises.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const temp = `${this.file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
      await fs.promises.writeFile(temp, `${JSON.stringify({ format: 1, links }, null, 2)}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
      await fs.promises.rename(temp, this.file);
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async read(): Promise<Record<string, StandbyLink>> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    const parsed = fileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.file} is damaged: ${z.prettifyError(parsed.error)}`);
    return parsed.data.links;
  }
}

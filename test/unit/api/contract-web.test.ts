import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startWebHost } from '../../../src-main/host/web-host';
import { createWebClient } from '../../../src-renderer/api-client';
import { contractSuite } from './contract-suite';

// The contract over the local web host: HTTP POST per request, server-sent events, token header.
contractSuite('the web host', async (dispatch, events) => {
  const rendererDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-renderer-'));
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html>');
  const host = await startWebHost({ rendererDir, dispatch, events });
  // Every subscription is dropped at the end, so each client's event stream stops (a closed tab).
  const offs: (() => void)[] = [];
  return {
    async client() {
      const client = createWebClient(host.token, host.origin);
      return {
        call: client.call,
        on(event, listener) {
          const off = client.on(event, listener);
          offs.push(off);
          return off;
        },
      };
    },
    async close() {
      for (const off of offs) off();
      await host.close();
      fs.rmSync(rendererDir, { recursive: true, force: true });
    },
  };
});

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.ts';
import { buildServer } from '../src/api/server.ts';
import { parseRules } from '../src/identity/parse-rules.ts';
import { childEnv, freePort, startKithServe } from './kith-process.ts';
import { request } from './harness.ts';

/**
 * A rules change is saved first and then followed through by re-resolving the workspace's history.
 * If the process dies in between, the saved rules are marked pending and `kith serve` finishes the
 * work at its next start: the graph never stays half under the old rules.
 */
describe('an interrupted rules change is finished at the next start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kith-rules-resume-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('re-resolves under the saved rules and clears the mark', async () => {
    const db = join(dir, 'kith.db');
    const app = await createApp({ db });
    const created = await app.workspaces.create('default');
    if (!created.ok) throw new Error(created.message);
    const { writeKey, readKey, workspace } = created.created;
    const server = buildServer(app, { logger: false });
    await server.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
    const basic = (key: string): string => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
    const sent = await request(`${url}/v1/batch`, {
      auth: basic(writeKey),
      body: {
        batch: [
          { type: 'identify', anonymousId: 'resume-a1', traits: { email: 'front-desk@example.com', name: 'A' }, timestamp: '2026-01-01T00:00:00Z' },
          { type: 'identify', anonymousId: 'resume-a2', traits: { email: 'front-desk@example.com', name: 'B' }, timestamp: '2026-01-02T00:00:00Z' },
        ],
      },
    });
    expect(sent.status).toBe(200);
    const profileOf = async (base: string, key: string): Promise<string> => {
      const res = await request(`${base}/v1/spaces/default/collections/users/profiles/${key}/metadata`, { auth: basic(readKey) });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.metadata.profile_id as string;
    };
    expect(await profileOf(url, 'anonymous_id:resume-a1')).toBe(await profileOf(url, 'anonymous_id:resume-a2'));

    // The shared address goes on the blocklist, and the process stops right after saving: this is
    // what a kill between the save and the re-resolution leaves behind.
    const checked = parseRules({ blocklist: ['front-desk@example.com'] }, workspace.rules);
    if (!checked.ok) throw new Error(checked.message);
    await app.workspaces.setRules(workspace.id, checked.rules);
    expect(await app.store.admin.pendingRules()).toEqual([{ ws: workspace.id, generation: 1 }]);
    await server.close();
    await app.close();

    const port = await freePort();
    const serve = await startKithServe({ db, port, env: childEnv(dir) });
    try {
      const deadline = Date.now() + 20_000;
      while (!serve.output().includes('re-resolved under its saved rules') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(serve.output()).toContain('re-resolved under its saved rules');
      expect(await profileOf(serve.url, 'anonymous_id:resume-a1')).not.toBe(await profileOf(serve.url, 'anonymous_id:resume-a2'));
    } finally {
      await serve.kill('SIGTERM');
    }
    const after = await createApp({ db });
    try {
      expect(await after.store.admin.pendingRules()).toEqual([]);
    } finally {
      await after.close();
    }
  }, 60_000);
});

import type { TestServer } from './harness.ts';

/** `POST /v1/spaces/default/imports` as `curl -F mapping=@... -F file=@...` sends it. */
export async function upload(
  s: TestServer,
  opts: { mapping: string; file: string | Buffer; fileName: string; query: string; key?: string },
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('mapping', new Blob([opts.mapping]), 'mapping.yaml');
  form.append('file', new Blob([opts.file]), opts.fileName);
  const res = await fetch(`${s.url}/v1/spaces/default/imports?${opts.query}`, { method: 'POST', headers: { authorization: s.basic(opts.key ?? s.keys.adminKey) }, body: form });
  return { status: res.status, body: await res.json() };
}

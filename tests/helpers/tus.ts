/** tus 1.0.0 by hand (fetch), for tests that check the protocol answers byte by byte. */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");

export const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));
export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** `Upload-Metadata`: keys with base64 values; an empty value is sent as the bare key. */
export function uploadMetadata(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => (value === "" ? key : `${key} ${Buffer.from(value).toString("base64")}`))
    .join(",");
}

export interface TusAnswer {
  status: number;
  headers: Headers;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json: { error?: { code: string; message: string; details?: unknown } } | null;
}

async function answer(response: Response): Promise<TusAnswer> {
  const body = await response.text();
  let json = null;
  try {
    json = body ? JSON.parse(body) : null;
  } catch {
    json = null;
  }
  return { status: response.status, headers: response.headers, body, json };
}

export function tusClient(baseUrl: string, token?: string) {
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const tus = { "tus-resumable": "1.0.0" };
  return {
    /** POST /api/uploads; a body (with `Content-Type: application/offset+octet-stream`) is creation-with-upload. */
    async create(size: number, metadata: Record<string, string> | string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<TusAnswer> {
      const meta = typeof metadata === "string" ? metadata : uploadMetadata(metadata);
      return answer(
        await fetch(`${baseUrl}/api/uploads`, {
          method: "POST",
          headers: { ...auth, ...tus, "upload-length": String(size), "upload-metadata": meta, ...headers },
          ...(body ? { body: body as Uint8Array<ArrayBuffer> } : {}),
        }),
      );
    },
    async patch(location: string, offset: number, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<TusAnswer> {
      return answer(
        await fetch(new URL(location, baseUrl), {
          method: "PATCH",
          headers: { ...auth, ...tus, "upload-offset": String(offset), "content-type": "application/offset+octet-stream", ...headers },
          body: bytes as Uint8Array<ArrayBuffer>,
        }),
      );
    },
    async head(location: string): Promise<TusAnswer> {
      return answer(await fetch(new URL(location, baseUrl), { method: "HEAD", headers: { ...auth, ...tus } }));
    },
    async remove(location: string): Promise<TusAnswer> {
      return answer(await fetch(new URL(location, baseUrl), { method: "DELETE", headers: { ...auth, ...tus } }));
    },
    /** Any request, signed in but with exactly the tus headers given (none by default). */
    async send(method: string, location: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<TusAnswer> {
      const init: RequestInit = { method, headers: { ...auth, ...headers } };
      if (body) init.body = body as Uint8Array<ArrayBuffer>;
      return answer(await fetch(new URL(location, baseUrl), init));
    },
    /** Creates and sends the whole file in one PATCH; returns both answers. */
    async upload(bytes: Uint8Array, metadata: Record<string, string>): Promise<{ created: TusAnswer; finished: TusAnswer }> {
      const created = await this.create(bytes.length, metadata);
      if (created.status !== 201) return { created, finished: created };
      const finished = await this.patch(created.headers.get("location") as string, 0, bytes);
      return { created, finished };
    },
  };
}

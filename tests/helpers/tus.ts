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
    async create(size: number, metadata: Record<string, string> | string, headers: Record<string, string> = {}): Promise<TusAnswer> {
      const meta = typeof metadata === "string" ? metadata : uploadMetadata(metadata);
      return answer(
        await fetch(`${baseUrl}/api/uploads`, {
          method: "POST",
          headers: { ...auth, ...tus, "upload-length": String(size), "upload-metadata": meta, ...headers },
        }),
      );
    },
    async patch(location: string, offset: number, bytes: Uint8Array): Promise<TusAnswer> {
      return answer(
        await fetch(new URL(location, baseUrl), {
          method: "PATCH",
          headers: { ...auth, ...tus, "upload-offset": String(offset), "content-type": "application/offset+octet-stream" },
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
    /** Creates and sends the whole file in one PATCH; returns both answers. */
    async upload(bytes: Uint8Array, metadata: Record<string, string>): Promise<{ created: TusAnswer; finished: TusAnswer }> {
      const created = await this.create(bytes.length, metadata);
      if (created.status !== 201) return { created, finished: created };
      const finished = await this.patch(created.headers.get("location") as string, 0, bytes);
      return { created, finished };
    },
  };
}

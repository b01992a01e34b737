/**
 * SDK options the page takes from its address, for trying the video uploads on a slow or
 * small network (and for the browser tests): `?uploadChunkBytes=262144` sends videos in
 * 256 KiB requests, `?offlineQueueMaxBytes=0` keeps no video copies on the device. Anything
 * else in the query is ignored; a value the SDK would refuse is dropped with a warning, so the
 * page still starts, with the SDK's default for it.
 */
import type { ChatClientOptions } from "@wbk/client-sdk";

/** Each option with its smallest value (the SDK refuses chunks of 0 bytes). */
const NUMBER_OPTIONS = { uploadChunkBytes: 1, offlineQueueMaxBytes: 0 } as const;

export function clientOptionsFromAddress(search: string): ChatClientOptions {
  const query = new URLSearchParams(search);
  const options: ChatClientOptions = {};
  for (const [name, min] of Object.entries(NUMBER_OPTIONS) as [keyof typeof NUMBER_OPTIONS, number][]) {
    const raw = query.get(name);
    if (raw === null) continue;
    const value = Number(raw);
    if (raw.trim() !== "" && Number.isSafeInteger(value) && value >= min) options[name] = value;
    else console.warn(`Ignoring ?${name}=${raw}: not a whole number of bytes from ${min} up.`);
  }
  return options;
}

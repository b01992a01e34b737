/** The address a request comes from, as the per-address rate limits count it. */
import { isIP, isIPv6 } from "node:net";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { firstValue } from "./crossOrigin.js";

/**
 * The socket's remote address; with TRUST_PROXY the first `X-Forwarded-For` entry (the client
 * as the proxy saw it, so the proxy must set the header rather than append to the client's),
 * when it is an IP address. IPv6 addresses count by their /64: one subscriber holds a whole
 * /64, and would otherwise have 2^64 addresses to rotate through.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  const forwarded = trustProxy ? firstValue(c.req.header("x-forwarded-for")) : undefined;
  if (forwarded && isIP(forwarded)) return addressKey(forwarded);
  let remote: string | undefined;
  try {
    remote = getConnInfo(c).remote.address;
  } catch {
    // not served by @hono/node-server (app.request in a script): no socket to ask
  }
  return remote ? addressKey(remote) : "unknown";
}

function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(address)) return address;
  const [head = "", tail = ""] = address.split("%")[0]!.split("::");
  const front = head ? head.split(":") : [];
  const back = tail ? tail.split(":") : [];
  const groups = address.includes("::") ? [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill("0"), ...back] : front;
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(":")}::/64`;
}

/**
 * /collab frames as Hocuspocus 4 reads them: `varString(address) varUint(type) payload`, the
 * address being the document name, maybe followed by `\0` and a session id. A frame is read
 * here first, the way Hocuspocus will read it, so one it would choke on (and answer with its
 * own "Unauthorized" or "Reset Connection", outside the error catalogue) is refused before it
 * gets there. The Yjs update inside a sync message is left to the guard (`update_refused`).
 */
import { type ErrorCode } from "@wbk/shared";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as Y from "yjs";

export const FRAME = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3, syncReply: 4, stateless: 5, close: 7 } as const;
const AUTH_PERMISSION_DENIED = 1;
const SYNC_STEP_1 = 0;
const SYNC_STEP_2 = 1;
const SYNC_UPDATE = 2;

export interface FrameHeader {
  address: string;
  /** The document name: the address without its session part. */
  name: string;
  type: number;
}

/** Reads a payload the way Hocuspocus's receiver will; throws where it would. */
function readPayload(type: number, decoder: decoding.Decoder): void {
  switch (type) {
    case FRAME.sync:
    case FRAME.syncReply: {
      const step = decoding.readVarUint(decoder);
      const body = decoding.readVarUint8Array(decoder);
      if (step === SYNC_STEP_1) Y.decodeStateVector(body);
      else if (step !== SYNC_STEP_2 && step !== SYNC_UPDATE) throw new Error("unknown sync step");
      return;
    }
    case FRAME.awareness: {
      const update = decoding.createDecoder(decoding.readVarUint8Array(decoder));
      for (let states = decoding.readVarUint(update); states > 0; states--) {
        decoding.readVarUint(update);
        decoding.readVarUint(update);
        JSON.parse(decoding.readVarString(update));
      }
      return;
    }
    case FRAME.auth:
      decoding.readVarUint(decoder);
      decoding.readVarString(decoder);
      if (decoding.hasContent(decoder)) decoding.readVarString(decoder);
      return;
    case FRAME.stateless:
      decoding.readVarString(decoder);
      return;
    case FRAME.queryAwareness:
    case FRAME.close:
      return;
    default:
      // Server-only (broadcast stateless, sync status, framed ping/pong) or unknown.
      throw new Error(`a client does not send message type ${type}`);
  }
}

/** The frame's address and type, or null when it is not a frame a client sends. */
export function readFrame(bytes: Uint8Array): FrameHeader | null {
  try {
    const decoder = decoding.createDecoder(bytes);
    const address = decoding.readVarString(decoder);
    const type = decoding.readVarUint(decoder);
    readPayload(type, decoder);
    const separator = address.indexOf("\0");
    return { address, name: separator === -1 ? address : address.slice(0, separator), type };
  } catch {
    return null;
  }
}

/** Hocuspocus's answer to an Auth it refuses: the address, Auth, PermissionDenied, the reason. */
export function permissionDenied(address: string, reason: ErrorCode): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, address);
  encoding.writeVarUint(encoder, FRAME.auth);
  encoding.writeVarUint(encoder, AUTH_PERMISSION_DENIED);
  encoding.writeVarString(encoder, reason);
  return encoding.toUint8Array(encoder);
}

/**
 * Is a finished upload a whole video? Decided from the file's bytes, never its name or claimed
 * type (DESIGN.md: an upload that is not a whole video is 415 `unsupported_media_type`).
 *
 * The structure check walks the container with positioned reads, so a 2 GiB file costs a few
 * header reads: ISO BMFF boxes (ISO/IEC 14496-12, QuickTime) or EBML elements (RFC 8794,
 * Matroska RFC 9559). The container must account for every byte of the file, which is what
 * catches a cut-off upload: ffprobe alone reads the first 200,000 bytes of an MP4 without a
 * word of complaint, and calls a PNG a video. When VIDEO_PROBE is ffprobe, it then confirms a
 * decoder knows the video stream and names its codec.
 */
import { execFile, type ExecFileException } from "node:child_process";
import { open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { ConfigError } from "../config.js";

export type VideoContainer = "mp4" | "mov" | "webm" | "mkv";
export type VideoProbe = "ffprobe" | "structure";

type Refusal = { ok: false; reason: string };

/** `reason` is for logs. `codec` is the container's name for it: a sample entry (`avc1`) or a CodecID (`V_VP9`). */
export type StructureResult =
  | { ok: true; container: VideoContainer; mime: string; durationMs: number | null; codec: string | null }
  | Refusal;

/** `codec` is ffprobe's `codec_name` (`h264`, `vp9`). */
export type ProbeResult = { ok: true; codec: string; durationMs: number | null } | Refusal;

/** The structure result, with ffprobe's codec name when ffprobe ran. */
export type VideoCheck = StructureResult;

/** moov is read whole for the duration and tracks; hours of video need a few MB. Stops a claimed huge moov from being buffered. */
const MAX_MOOV_BYTES = 64 * 1024 * 1024;
/** The EBML header, Info and Tracks are read whole; real ones are kilobytes. */
const MAX_EBML_READ_BYTES = 16 * 1024 * 1024;
/**
 * Box and element headers walked in one file. A WebM recorded by MediaRecorder has clusters of
 * unknown size, walked block by block (about 100 a second of media); this stops a file of
 * millions of tiny elements from holding a core.
 */
const MAX_HEADERS = 5_000_000;
/** ffprobe reads headers only; this long means it is stuck on crafted input. */
const FFPROBE_TIMEOUT_MS = 30_000;
/** The JSON of a file with many streams is tens of KB. */
const FFPROBE_MAX_BUFFER = 4 * 1024 * 1024;

/** Thrown by the walkers for bytes that are not a whole video; inspectStructure returns it as ok:false. */
class NotAVideo extends Error {}

function refuse(reason: string): never {
  throw new NotAVideo(reason);
}

/** Positioned reads through one handle; small header reads share a window to save system calls. */
class FileBytes {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;
  private headers = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** `length` bytes at `offset`, fewer only at the end of the file. */
  async read(offset: number, length: number): Promise<Buffer> {
    const wanted = Math.max(0, Math.min(length, this.size - offset));
    const buffer = Buffer.alloc(wanted);
    let filled = 0;
    while (filled < wanted) {
      const { bytesRead } = await this.handle.read(buffer, filled, wanted - filled, offset + filled);
      if (bytesRead === 0) refuse("the file shrank while it was read");
      filled += bytesRead;
    }
    return buffer;
  }

  /** At most 16 bytes for a box or element header; counts the header against MAX_HEADERS. */
  async header(offset: number): Promise<Buffer> {
    if (++this.headers > MAX_HEADERS) refuse(`more than ${MAX_HEADERS} boxes or elements`);
    const end = Math.min(offset + 16, this.size);
    if (offset < this.windowStart || end > this.windowStart + this.window.length) {
      this.window = await this.read(offset, 16 * 1024);
      this.windowStart = offset;
    }
    return this.window.subarray(offset - this.windowStart, end - this.windowStart);
  }
}

/** The container's own account of the file; refuses anything not a whole MP4, MOV, WebM or MKV. Throws only for I/O errors. */
export async function inspectStructure(filePath: string): Promise<StructureResult> {
  const handle = await open(filePath, "r");
  try {
    const bytes = new FileBytes(handle, (await handle.stat()).size);
    const head = await bytes.read(0, 8);
    if (head.length === 8 && head.readUInt32BE(0) === EBML_HEADER) return await inspectEbml(bytes);
    if (head.length === 8 && fourcc(head, 4) === "ftyp") return await inspectIsoBmff(bytes);
    if (head.length === 8 && ["moov", "mdat", "free", "skip", "wide"].includes(fourcc(head, 4))) {
      return { ok: false, reason: "ftyp is not the first box" };
    }
    return { ok: false, reason: head.length === 0 ? "empty file" : "not an ISO BMFF or EBML file" };
  } catch (error) {
    if (error instanceof NotAVideo) return { ok: false, reason: error.message };
    throw error;
  } finally {
    await handle.close();
  }
}

// ---- ISO BMFF (MP4, QuickTime) ----

function fourcc(buffer: Buffer, at: number): string {
  return buffer.toString("latin1", at, at + 4);
}

/** A box type fit for a log line. */
function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, "?");
}

async function inspectIsoBmff(bytes: FileBytes): Promise<StructureResult> {
  let container: VideoContainer = "mp4";
  let moov: Buffer | undefined;
  let mdat = false;
  // Top-level boxes must tile the file exactly: the last one ending at its last byte.
  for (let offset = 0; offset < bytes.size; ) {
    const head = await bytes.header(offset);
    if (head.length < 8) refuse(`${head.length} bytes after the last box`);
    const type = printable(fourcc(head, 4));
    let size = head.readUInt32BE(0);
    let headerSize = 8;
    if (size === 1) {
      if (head.length < 16) refuse(`box ${type} is cut off`);
      const large = head.readBigUInt64BE(8);
      size = large > BigInt(bytes.size - offset) ? Infinity : Number(large);
      headerSize = 16;
    } else if (size === 0) {
      size = bytes.size - offset; // "extends to the end of the file"
    }
    if (size < headerSize) refuse(`box ${type} has size ${size}, smaller than its header`);
    if (offset + size > bytes.size) refuse(`box ${type} extends past end of file`);
    const payload = { start: offset + headerSize, end: offset + size };
    if (type === "ftyp") {
      if (offset !== 0) refuse("more than one ftyp box");
      if (payload.end - payload.start < 8) refuse("ftyp box too short");
      if (fourcc(await bytes.read(payload.start, 4), 0) === "qt  ") container = "mov";
    } else if (type === "moov") {
      if (moov) refuse("more than one moov box");
      if (payload.end - payload.start > MAX_MOOV_BYTES) refuse(`moov box larger than ${MAX_MOOV_BYTES} bytes`);
      moov = await bytes.read(payload.start, payload.end - payload.start);
    } else if (type === "mdat") {
      mdat = true;
    }
    offset += size;
  }
  if (!moov) refuse("no moov box");
  if (!mdat) refuse("no mdat box");
  const movie = readMoov(moov);
  return { ok: true, container, mime: container === "mov" ? "video/quicktime" : "video/mp4", ...movie };
}

/** A box inside moov: its type and payload, as offsets into the moov buffer. */
interface Box {
  type: string;
  start: number;
  end: number;
}

function* boxes(moov: Buffer, parent: Box): Generator<Box> {
  let offset = parent.start;
  // A tail too short for a box header is left alone: wholeness is settled at the top level.
  while (parent.end - offset >= 8) {
    const type = printable(fourcc(moov, offset + 4));
    let size = moov.readUInt32BE(offset);
    let headerSize = 8;
    if (size === 1) {
      if (parent.end - offset < 16) refuse(`box ${type} in ${parent.type} is cut off`);
      const large = moov.readBigUInt64BE(offset + 8);
      size = large > BigInt(parent.end - offset) ? Infinity : Number(large);
      headerSize = 16;
    }
    // Size 0 ("to the end of the file") is for top-level boxes only.
    if (size === 0) refuse(`box ${type} of size 0 in ${parent.type}`);
    if (size < headerSize) refuse(`box ${type} in ${parent.type} has size ${size}, smaller than its header`);
    if (offset + size > parent.end) refuse(`box ${type} extends past end of ${parent.type}`);
    yield { type, start: offset + headerSize, end: offset + size };
    offset += size;
  }
}

function child(moov: Buffer, parent: Box | undefined, type: string): Box | undefined {
  if (!parent) return undefined;
  for (const box of boxes(moov, parent)) if (box.type === type) return box;
  return undefined;
}

function readMoov(moov: Buffer): { durationMs: number | null; codec: string | null } {
  let mvhd: Box | undefined;
  let mehd: Box | undefined;
  let codec: string | null | undefined; // undefined until a video track is seen
  for (const box of boxes(moov, { type: "moov", start: 0, end: moov.length })) {
    if (box.type === "mvhd") mvhd ??= box;
    else if (box.type === "mvex") mehd ??= child(moov, box, "mehd");
    else if (box.type === "trak" && codec === undefined) codec = videoTrackCodec(moov, box);
  }
  if (!mvhd) refuse("no mvhd box in moov");
  if (codec === undefined) refuse("no video track");
  return { durationMs: movieDuration(moov, mvhd, mehd), codec };
}

/** The sample entry of a `vide` track (`avc1`, `hvc1`, …), null if unreadable; undefined for other tracks. */
function videoTrackCodec(moov: Buffer, trak: Box): string | null | undefined {
  const mdia = child(moov, trak, "mdia");
  const hdlr = child(moov, mdia, "hdlr");
  // hdlr payload: version and flags (4), pre_defined (4), handler_type (4)
  if (!hdlr || hdlr.end - hdlr.start < 12 || fourcc(moov, hdlr.start + 8) !== "vide") return undefined;
  const stsd = child(moov, child(moov, child(moov, mdia, "minf"), "stbl"), "stsd");
  // stsd payload: version and flags (4), entry_count (4), then the first entry's size (4) and format (4)
  if (!stsd || stsd.end - stsd.start < 16 || moov.readUInt32BE(stsd.start + 4) === 0) return null;
  const codec = fourcc(moov, stsd.start + 12);
  return /^[\x20-\x7e]{4}$/.test(codec) ? codec : null;
}

/** mvhd's duration in ms; a fragmented file's mvhd says 0 and mvex/mehd holds the length. */
function movieDuration(moov: Buffer, mvhd: Box, mehd: Box | undefined): number | null {
  // mvhd payload: version and flags (4), then creation and modification times, timescale (4)
  // and duration, the times and duration 32-bit in version 0 and 64-bit in version 1
  const version = mvhd.end - mvhd.start >= 20 ? moov[mvhd.start] : refuse("mvhd box too short");
  if (version !== 0 && version !== 1) refuse(`unknown mvhd version ${version}`);
  const wide = version === 1;
  if (wide && mvhd.end - mvhd.start < 32) refuse("mvhd box too short");
  const timescale = BigInt(moov.readUInt32BE(mvhd.start + (wide ? 20 : 12)));
  if (timescale === 0n) refuse("mvhd timescale is 0");
  let duration = wide ? moov.readBigUInt64BE(mvhd.start + 24) : BigInt(moov.readUInt32BE(mvhd.start + 16));
  const unknown = wide ? 0xffff_ffff_ffff_ffffn : 0xffff_ffffn;
  if (duration === 0n || duration === unknown) {
    // mehd payload: version and flags (4), fragment_duration (4 or 8, by version), in mvhd's timescale
    if (!mehd || mehd.end - mehd.start < 8) return null;
    const long = moov[mehd.start] === 1;
    if (long && mehd.end - mehd.start < 12) return null;
    duration = long ? moov.readBigUInt64BE(mehd.start + 4) : BigInt(moov.readUInt32BE(mehd.start + 4));
  }
  // round(duration * 1000 / timescale), exactly, half up
  const ms = Number((duration * 2000n + timescale) / (2n * timescale));
  if (!Number.isSafeInteger(ms)) refuse("implausible duration");
  return ms;
}

// ---- EBML (WebM, Matroska) ----

const EBML_HEADER = 0x1a45dfa3;
const DOC_TYPE = 0x4282;
const SEGMENT = 0x18538067;
const INFO = 0x1549a966;
const TIMESTAMP_SCALE = 0x2ad7b1;
const DURATION = 0x4489;
const TRACKS = 0x1654ae6b;
const TRACK_ENTRY = 0xae;
const TRACK_TYPE = 0x83;
const CODEC_ID = 0x86;
const CLUSTER = 0x1f43b675;
const SEEK_HEAD = 0x114d9b74;
const CUES = 0x1c53bb6b;
const ATTACHMENTS = 0x1941a469;
const CHAPTERS = 0x1043a770;
const TAGS = 0x1254c367;

/** A Cluster of unknown size ends where one of these starts (RFC 8794, "Unknown Data Size"). */
const ENDS_CLUSTER = new Set([EBML_HEADER, SEGMENT, SEEK_HEAD, INFO, TRACKS, CLUSTER, CUES, ATTACHMENTS, CHAPTERS, TAGS]);

const NAMES = new Map([
  [EBML_HEADER, "EBML header"],
  [SEGMENT, "Segment"],
  [SEEK_HEAD, "SeekHead"],
  [INFO, "Info"],
  [TRACKS, "Tracks"],
  [TRACK_ENTRY, "TrackEntry"],
  [CLUSTER, "Cluster"],
  [CUES, "Cues"],
  [ATTACHMENTS, "Attachments"],
  [CHAPTERS, "Chapters"],
  [TAGS, "Tags"],
]);

function elementName(id: number): string {
  return NAMES.get(id) ?? `element 0x${id.toString(16).toUpperCase()}`;
}

interface ElementHeader {
  id: number;
  /** null: unknown size (all value bits set), allowed for Segment and Cluster. */
  size: number | null;
  length: number;
}

/** RFC 8794 variable-size integers: an ID keeps its marker bits, a size drops them. */
function elementHeader(buffer: Buffer, at: number): ElementHeader {
  const first = buffer[at];
  if (first === undefined) refuse("element header cut off");
  const idLength = Math.clz32(first) - 23; // leading zero bits + 1
  if (idLength > 4) refuse("invalid element ID");
  const sizeFirst = buffer[at + idLength];
  if (sizeFirst === undefined) refuse("element header cut off");
  const sizeLength = Math.clz32(sizeFirst) - 23;
  if (sizeLength > 8) refuse("invalid element size");
  if (at + idLength + sizeLength > buffer.length) refuse("element header cut off");
  const id = buffer.readUIntBE(at, idLength);
  let size = sizeFirst & (0xff >> sizeLength);
  let allOnes = size === 0xff >> sizeLength;
  for (let i = 1; i < sizeLength; i++) {
    const byte = buffer[at + idLength + i]!;
    size = size * 256 + byte; // past 2^53 it is inexact, and far past any file's end either way
    allOnes &&= byte === 0xff;
  }
  return { id, size: allOnes ? null : size, length: idLength + sizeLength };
}

/** An element in the file: where its data starts and ends (an unknown size runs to the parent's end). */
interface Element {
  id: number;
  known: boolean;
  start: number;
  end: number;
}

async function elementAt(bytes: FileBytes, offset: number, parentEnd: number, parent: string): Promise<Element> {
  const header = elementHeader((await bytes.header(offset)).subarray(0, parentEnd - offset), 0);
  const start = offset + header.length;
  const end = header.size === null ? parentEnd : start + header.size;
  if (end > parentEnd) refuse(`${elementName(header.id)} extends past end of ${parent}`);
  return { id: header.id, known: header.size !== null, start, end };
}

async function readWhole(bytes: FileBytes, element: Element): Promise<Buffer> {
  if (!element.known) refuse(`${elementName(element.id)} of unknown size`);
  const size = element.end - element.start;
  if (size > MAX_EBML_READ_BYTES) refuse(`${elementName(element.id)} larger than ${MAX_EBML_READ_BYTES} bytes`);
  return bytes.read(element.start, size);
}

/** The children of an element read whole. */
function* children(data: Buffer, parent: string): Generator<{ id: number; data: Buffer }> {
  for (let offset = 0; offset < data.length; ) {
    const header = elementHeader(data, offset);
    if (header.size === null) refuse(`${elementName(header.id)} of unknown size in ${parent}`);
    const start = offset + header.length;
    if (start + header.size > data.length) refuse(`${elementName(header.id)} extends past end of ${parent}`);
    yield { id: header.id, data: data.subarray(start, start + header.size) };
    offset = start + header.size;
  }
}

function unsigned(data: Buffer): number {
  if (data.length > 8) refuse("unsigned integer longer than 8 bytes");
  return data.reduce((value, byte) => value * 256 + byte, 0);
}

function text(data: Buffer): string {
  return data.toString("latin1").replace(/\0+$/, ""); // strings may be padded with zero bytes
}

async function inspectEbml(bytes: FileBytes): Promise<StructureResult> {
  const header = await elementAt(bytes, 0, bytes.size, "file");
  let docType = "matroska"; // the default when DocType is absent
  for (const { id, data } of children(await readWhole(bytes, header), "EBML header")) {
    if (id === DOC_TYPE) docType = text(data);
  }
  const container = docType === "webm" ? "webm" : docType === "matroska" ? "mkv" : undefined;
  if (!container) refuse(`unsupported DocType "${printable(docType.slice(0, 32))}"`);

  // Top-level elements must tile the file, as boxes do in MP4.
  let segment: { durationMs: number | null; codec: string | null } | undefined;
  for (let offset = header.end; offset < bytes.size; ) {
    const element = await elementAt(bytes, offset, bytes.size, "file");
    if (element.id === SEGMENT && !segment) segment = await inspectSegment(bytes, element);
    else if (!element.known) refuse(`${elementName(element.id)} of unknown size`);
    offset = element.end;
  }
  if (!segment) refuse("no Segment");
  return { ok: true, container, mime: container === "webm" ? "video/webm" : "video/x-matroska", ...segment };
}

async function inspectSegment(bytes: FileBytes, segment: Element): Promise<{ durationMs: number | null; codec: string | null }> {
  let info: Buffer | undefined;
  let tracks: Buffer | undefined;
  let clusters = 0;
  for (let offset = segment.start; offset < segment.end; ) {
    const element = await elementAt(bytes, offset, segment.end, "Segment");
    if (element.id === CLUSTER) {
      clusters++;
      offset = element.known ? element.end : await endOfCluster(bytes, element);
      continue;
    }
    if (element.id === INFO) info ??= await readWhole(bytes, element);
    else if (element.id === TRACKS) tracks ??= await readWhole(bytes, element);
    else if (!element.known) refuse(`${elementName(element.id)} of unknown size`);
    offset = element.end;
  }
  if (!info) refuse("no Info element");
  if (!tracks) refuse("no Tracks element");
  if (clusters === 0) refuse("no Cluster");
  return { durationMs: segmentDuration(info), codec: videoCodecId(tracks) };
}

/** Where a Cluster of unknown size (as MediaRecorder writes) ends: its blocks are walked by size. */
async function endOfCluster(bytes: FileBytes, cluster: Element): Promise<number> {
  let offset = cluster.start;
  while (offset < cluster.end) {
    const element = await elementAt(bytes, offset, cluster.end, "Segment");
    if (ENDS_CLUSTER.has(element.id)) break;
    if (!element.known) refuse(`${elementName(element.id)} of unknown size in Cluster`);
    offset = element.end;
  }
  return offset;
}

/** Info/Duration is a float in TimestampScale units (nanoseconds each). */
function segmentDuration(info: Buffer): number | null {
  let scale = 1_000_000;
  let duration: number | undefined;
  for (const { id, data } of children(info, "Info")) {
    if (id === TIMESTAMP_SCALE) scale = unsigned(data);
    else if (id === DURATION) {
      if (data.length !== 0 && data.length !== 4 && data.length !== 8) refuse(`Duration of ${data.length} bytes`);
      duration = data.length === 8 ? data.readDoubleBE(0) : data.length === 4 ? data.readFloatBE(0) : 0;
    }
  }
  if (scale === 0) refuse("TimestampScale is 0");
  if (duration === undefined) return null; // live recordings carry none
  const ms = Math.round((duration * scale) / 1_000_000);
  if (!Number.isSafeInteger(ms) || ms < 0) refuse("implausible duration");
  return ms;
}

/** The CodecID of the first video track (TrackType 1), null if it has none. */
function videoCodecId(tracks: Buffer): string | null {
  for (const entry of children(tracks, "Tracks")) {
    if (entry.id !== TRACK_ENTRY) continue;
    let type: number | undefined;
    let codec: string | null = null;
    for (const { id, data } of children(entry.data, "TrackEntry")) {
      if (id === TRACK_TYPE) type = unsigned(data);
      else if (id === CODEC_ID) codec = text(data);
    }
    if (type === 1) return codec !== null && /^[\x20-\x7e]{1,64}$/.test(codec) ? codec : null;
  }
  refuse("no video track");
}

// ---- ffprobe ----

function ffprobe(args: string[]): Promise<{ error: ExecFileException | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("ffprobe", args, { timeout: FFPROBE_TIMEOUT_MS, maxBuffer: FFPROBE_MAX_BUFFER }, (error, stdout, stderr) =>
      resolve({ error, stdout, stderr }),
    );
  });
}

function failure(error: ExecFileException, stderr: string): string {
  if (error.code === "ENOENT") return "ffprobe is not installed";
  if (error.killed) return `ffprobe did not finish within ${FFPROBE_TIMEOUT_MS / 1000} s`;
  if (error.code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") return "ffprobe printed too much";
  const detail = stderr.trim().split("\n")[0] ?? "";
  return `ffprobe failed (exit ${error.code ?? error.signal})${detail ? `: ${detail.slice(0, 200)}` : ""}`;
}

interface FfprobeOutput {
  streams?: { codec_type?: unknown; codec_name?: unknown; disposition?: { attached_pic?: unknown } }[];
  format?: { duration?: unknown };
}

/** ffprobe's first video stream; refuses when it fails, finds none or takes too long. */
export async function probeWithFfprobe(filePath: string): Promise<ProbeResult> {
  // `file:` keeps ffprobe from reading a path as an option ("-…") or a protocol ("concat:…").
  const target = `file:${path.resolve(filePath)}`;
  const { error, stdout, stderr } = await ffprobe(["-v", "error", "-print_format", "json", "-show_format", "-show_streams", target]);
  if (error) return { ok: false, reason: failure(error, stderr) };
  let output: FfprobeOutput;
  try {
    output = JSON.parse(stdout) as FfprobeOutput;
  } catch {
    return { ok: false, reason: "ffprobe printed no JSON" };
  }
  // Cover art shows as a video stream with the attached_pic disposition; it is no video.
  const video = (Array.isArray(output.streams) ? output.streams : []).find(
    (stream) => stream?.codec_type === "video" && stream.disposition?.attached_pic !== 1,
  );
  if (!video || typeof video.codec_name !== "string") return { ok: false, reason: "ffprobe found no video stream" };
  const seconds = typeof output.format?.duration === "string" ? Number(output.format.duration) : NaN; // absent when unknown
  const durationMs = Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : null;
  return { ok: true, codec: video.codec_name, durationMs };
}

let ffprobeFound: Promise<boolean> | undefined;

/** Whether `ffprobe` runs; asked once per process. */
export function ffprobeAvailable(): Promise<boolean> {
  ffprobeFound ??= ffprobe(["-version"]).then(({ error }) => error === null);
  return ffprobeFound;
}

/** VIDEO_PROBE to the probe in force: unset means ffprobe when it is installed. */
export async function resolveVideoProbe(configured: VideoProbe | null): Promise<VideoProbe> {
  if (configured === "structure") return "structure";
  const available = await ffprobeAvailable();
  if (configured === "ffprobe" && !available) {
    throw new ConfigError("VIDEO_PROBE", "ffprobe is configured but cannot be run; install ffmpeg or set VIDEO_PROBE=structure");
  }
  return available ? "ffprobe" : "structure";
}

/** The structure check always; then ffprobe when that is the probe. Either may refuse. */
export async function inspectVideo(filePath: string, probe: VideoProbe): Promise<VideoCheck> {
  const structure = await inspectStructure(filePath);
  if (!structure.ok || probe === "structure") return structure;
  const probed = await probeWithFfprobe(filePath);
  if (!probed.ok) return probed;
  return { ...structure, codec: probed.codec, durationMs: structure.durationMs ?? probed.durationMs };
}

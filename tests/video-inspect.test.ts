/**
 * Whether a finished upload is a whole video, decided from its bytes (server/src/videos/inspect.ts):
 * the committed clips pass with their real durations and codecs, a cut-off clip and a renamed PNG
 * are refused, and hostile bytes are refused without a throw or a hang.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ffprobeAvailable, inspectStructure, inspectVideo, probeWithFfprobe, resolveVideoProbe } from "../server/src/videos/inspect.js";

const fixture = (name: string) => path.join(import.meta.dirname, "fixtures", name);

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "wbk-video-inspect-"));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

async function write(bytes: Buffer, name = "upload.bin"): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, bytes);
  return file;
}

const inspectBytes = async (bytes: Buffer) => inspectStructure(await write(bytes));

// ---- ISO BMFF builders ----

function u32(...values: number[]): Buffer {
  const bytes = Buffer.alloc(4 * values.length);
  values.forEach((value, i) => bytes.writeUInt32BE(value, 4 * i));
  return bytes;
}

function u64(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(value);
  return bytes;
}

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, "latin1"), body]);
}

const ftyp = (brand = "isom") => box("ftyp", Buffer.from(brand, "latin1"), u32(0x200), Buffer.from("isomavc1"));
/** Version 0: version and flags, creation, modification, timescale, duration, then 80 bytes of fixed fields. */
const mvhd = (timescale: number, duration: number) => box("mvhd", u32(0, 0, 0, timescale, duration), Buffer.alloc(80));
const trak = (handler: string, codec: string) =>
  box(
    "trak",
    box(
      "mdia",
      box("hdlr", u32(0, 0), Buffer.from(handler, "latin1"), Buffer.alloc(13)),
      box("minf", box("stbl", box("stsd", u32(0, 1), box(codec, Buffer.alloc(78))))),
    ),
  );
const mdat = box("mdat", Buffer.alloc(64, 0xab));
const mp4 = (...moov: Buffer[]) => Buffer.concat([ftyp(), box("moov", ...moov), mdat]);

// ---- EBML builders ----

const EBML = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const INFO = 0x1549a966;
const TRACKS = 0x1654ae6b;
const CLUSTER = 0x1f43b675;
const UNKNOWN_SIZE = Buffer.from("01ffffffffffffff", "hex");

function idBytes(id: number): Buffer {
  const hex = id.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
}

/** An element with an 8-byte size, so a test can find and patch it. */
function el(id: number, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const size = u64(BigInt(body.length));
  size[0] = 0x01; // the length marker of an 8-byte vint
  return Buffer.concat([idBytes(id), size, body]);
}

const unknownSized = (id: number, ...payload: Buffer[]) => Buffer.concat([idBytes(id), UNKNOWN_SIZE, ...payload]);
const ebmlHeader = (docType: string) => el(EBML, el(0x4286, Buffer.from([1])), el(0x4282, Buffer.from(docType)));
const f64 = (value: number) => {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(value);
  return bytes;
};
const info = (duration?: Buffer, scale = Buffer.from([0x0f, 0x42, 0x40])) =>
  el(INFO, el(0x2ad7b1, scale), ...(duration ? [el(0x4489, duration)] : []));
const track = (type: number, codec: string) => el(0xae, el(0xd7, Buffer.from([1])), el(0x83, Buffer.from([type])), el(0x86, Buffer.from(codec)));
const tracks = (type: number, codec: string) => el(TRACKS, track(type, codec));
const blocks = () => [el(0xe7, Buffer.from([0])), el(0xa3, Buffer.alloc(40, 0x55)), el(0xa3, Buffer.alloc(30, 0x66))];
const webm = (...segment: Buffer[]) => Buffer.concat([ebmlHeader("webm"), el(SEGMENT, ...segment)]);

describe("the committed clips", () => {
  it("structure: the real durations, mimes and container codecs", async () => {
    expect(await inspectStructure(fixture("clip-h264-5s.mp4"))).toEqual({ ok: true, container: "mp4", mime: "video/mp4", durationMs: 5000, codec: "avc1" });
    expect(await inspectStructure(fixture("clip-h264-8s-2mb.mp4"))).toEqual({ ok: true, container: "mp4", mime: "video/mp4", durationMs: 8000, codec: "avc1" });
    // ffprobe agrees: 3.008 s (Info/Duration is 3008.0 at the default 1 ms TimestampScale).
    expect(await inspectStructure(fixture("clip-vp9-3s.webm"))).toEqual({ ok: true, container: "webm", mime: "video/webm", durationMs: 3008, codec: "V_VP9" });
  });

  it("structure: the cut-off clip and the renamed PNG are refused", async () => {
    expect(await inspectStructure(fixture("clip-h264-truncated.mp4"))).toEqual({ ok: false, reason: "box mdat extends past end of file" });
    expect(await inspectStructure(fixture("not-a-video.mp4"))).toEqual({ ok: false, reason: "not an ISO BMFF or EBML file" });
    for (const length of [20, 300, 40_000, 83_231]) {
      const cut = (await fs.readFile(fixture("clip-vp9-3s.webm"))).subarray(0, length);
      expect((await inspectBytes(cut)).ok, `WebM cut at ${length}`).toBe(false);
    }
  });

  it("ffprobe: codec names and durations", async () => {
    expect(await ffprobeAvailable()).toBe(true); // npm test's pretest installs ffmpeg
    expect(await probeWithFfprobe(fixture("clip-h264-5s.mp4"))).toEqual({ ok: true, codec: "h264", durationMs: 5000 });
    expect(await probeWithFfprobe(fixture("clip-h264-8s-2mb.mp4"))).toEqual({ ok: true, codec: "h264", durationMs: 8000 });
    expect(await probeWithFfprobe(fixture("clip-vp9-3s.webm"))).toEqual({ ok: true, codec: "vp9", durationMs: 3008 });
    expect(await inspectVideo(fixture("clip-h264-5s.mp4"), "ffprobe")).toEqual({ ok: true, container: "mp4", mime: "video/mp4", durationMs: 5000, codec: "h264" });
    expect(await inspectVideo(fixture("clip-h264-8s-2mb.mp4"), "ffprobe")).toEqual({ ok: true, container: "mp4", mime: "video/mp4", durationMs: 8000, codec: "h264" });
    expect(await inspectVideo(fixture("clip-vp9-3s.webm"), "ffprobe")).toEqual({ ok: true, container: "webm", mime: "video/webm", durationMs: 3008, codec: "vp9" });
    expect(await inspectVideo(fixture("clip-vp9-3s.webm"), "structure")).toEqual({ ok: true, container: "webm", mime: "video/webm", durationMs: 3008, codec: "V_VP9" });
  });

  it("ffprobe: the cut-off clip and the PNG are refused by the structure check that runs first", async () => {
    // ffprobe 5.1 alone reads both without an error: the cut MP4 as 5 s of H.264, the PNG as a
    // one-frame "png" video stream. Only the structure check sees that they are not whole videos.
    expect(await inspectVideo(fixture("clip-h264-truncated.mp4"), "ffprobe")).toEqual({ ok: false, reason: "box mdat extends past end of file" });
    expect(await inspectVideo(fixture("not-a-video.mp4"), "ffprobe")).toEqual({ ok: false, reason: "not an ISO BMFF or EBML file" });
  });

  it("ffprobe: a file name is never read as an option or a protocol", async () => {
    const file = await write(await fs.readFile(fixture("clip-vp9-3s.webm")), "-i concat:x.webm");
    expect(await probeWithFfprobe(file)).toEqual({ ok: true, codec: "vp9", durationMs: 3008 });
    expect(await probeWithFfprobe(path.relative(process.cwd(), file))).toEqual({ ok: true, codec: "vp9", durationMs: 3008 });
  });

  it("ffprobe: bytes it cannot read, or with no video stream, are refused", async () => {
    const garbage = await probeWithFfprobe(await write(Buffer.alloc(1000, 0x42)));
    expect(garbage).toMatchObject({ ok: false, reason: expect.stringMatching(/^ffprobe /) });
    expect(await probeWithFfprobe(path.join(dir, "missing.mp4"))).toMatchObject({ ok: false });
  });
});

describe("MP4 and QuickTime structure", () => {
  it("a minimal movie with one video track passes, with its duration and codec", async () => {
    expect(await inspectBytes(mp4(mvhd(600, 1500), trak("soun", "mp4a"), trak("vide", "hvc1")))).toEqual({
      ok: true,
      container: "mp4",
      mime: "video/mp4",
      durationMs: 2500,
      codec: "hvc1",
    });
  });

  it("qt brand, mvhd version 1, a largesize mdat and a size-0 mdat", async () => {
    const mvhd1 = box("mvhd", u32(0x0100_0000), Buffer.alloc(16), u32(90_000), u64(675_000n), Buffer.alloc(80));
    const large = Buffer.concat([u32(1), Buffer.from("mdat"), u64(16n + 10n), Buffer.alloc(10)]);
    const movie = Buffer.concat([ftyp("qt  "), box("moov", mvhd1, trak("vide", "avc1")), large]);
    expect(await inspectBytes(movie)).toEqual({ ok: true, container: "mov", mime: "video/quicktime", durationMs: 7500, codec: "avc1" });
    const toEnd = Buffer.concat([ftyp(), box("moov", mvhd(1000, 1234), trak("vide", "av01")), u32(0), Buffer.from("mdat"), Buffer.alloc(99)]);
    expect(await inspectBytes(toEnd)).toMatchObject({ ok: true, durationMs: 1234, codec: "av01" });
  });

  it("a fragmented movie takes its duration from mvex/mehd, or has none", async () => {
    const mvex = box("mvex", box("mehd", u32(0, 3000)));
    expect(await inspectBytes(mp4(mvhd(1000, 0), mvex, trak("vide", "avc1")))).toMatchObject({ ok: true, durationMs: 3000 });
    expect(await inspectBytes(mp4(mvhd(1000, 0), trak("vide", "avc1")))).toMatchObject({ ok: true, durationMs: null });
  });

  it("an mdat that claims to run past the end of the file is refused", async () => {
    const movie = mp4(mvhd(1000, 1000), trak("vide", "avc1"));
    movie.writeUInt32BE(mdat.length + 1000, movie.length - mdat.length);
    expect(await inspectBytes(movie)).toEqual({ ok: false, reason: "box mdat extends past end of file" });
  });

  it("inconsistent box sizes are refused", async () => {
    const zeroInMoov = mp4(mvhd(1000, 1000), Buffer.concat([u32(0), Buffer.from("free"), Buffer.alloc(8)]), trak("vide", "avc1"));
    expect(await inspectBytes(zeroInMoov)).toEqual({ ok: false, reason: "box free of size 0 in moov" });
    const tinyInMoov = mp4(mvhd(1000, 1000), Buffer.concat([u32(4), Buffer.from("free")]), trak("vide", "avc1"));
    expect(await inspectBytes(tinyInMoov)).toEqual({ ok: false, reason: "box free in moov has size 4, smaller than its header" });
    const tinyTopLevel = Buffer.concat([ftyp(), u32(3), Buffer.from("junk"), mdat]);
    expect(await inspectBytes(tinyTopLevel)).toEqual({ ok: false, reason: "box junk has size 3, smaller than its header" });
    const pastParent = mp4(mvhd(1000, 1000), box("trak", Buffer.concat([u32(500), Buffer.from("mdia")])));
    expect(await inspectBytes(pastParent)).toEqual({ ok: false, reason: "box mdia extends past end of trak" });
    const tail = Buffer.concat([mp4(mvhd(1000, 1000), trak("vide", "avc1")), Buffer.from([1, 2, 3])]);
    expect(await inspectBytes(tail)).toEqual({ ok: false, reason: "3 bytes after the last box" });
  });

  it("an audio-only movie, or one missing moov, mdat, mvhd or a leading ftyp, is refused", async () => {
    expect(await inspectBytes(mp4(mvhd(1000, 1000), trak("soun", "mp4a")))).toEqual({ ok: false, reason: "no video track" });
    expect(await inspectBytes(Buffer.concat([ftyp(), mdat]))).toEqual({ ok: false, reason: "no moov box" });
    expect(await inspectBytes(Buffer.concat([ftyp(), box("moov", mvhd(1000, 1000), trak("vide", "avc1"))]))).toEqual({ ok: false, reason: "no mdat box" });
    expect(await inspectBytes(mp4(trak("vide", "avc1")))).toEqual({ ok: false, reason: "no mvhd box in moov" });
    expect(await inspectBytes(mp4(mvhd(0, 1000), trak("vide", "avc1")))).toEqual({ ok: false, reason: "mvhd timescale is 0" });
    expect(await inspectBytes(Buffer.concat([box("moov", mvhd(1000, 1000), trak("vide", "avc1")), ftyp(), mdat]))).toEqual({
      ok: false,
      reason: "ftyp is not the first box",
    });
    expect(await inspectBytes(Buffer.alloc(0))).toEqual({ ok: false, reason: "empty file" });
  });

  it("a moov over 64 MiB is refused before it is read", async () => {
    const moovSize = 65 * 1024 * 1024;
    const head = Buffer.concat([ftyp(), u32(moovSize), Buffer.from("moov")]);
    const file = path.join(dir, "huge-moov.mp4");
    const handle = await fs.open(file, "w");
    try {
      await handle.write(head, 0, head.length, 0);
      await handle.write(mdat, 0, mdat.length, head.length - 8 + moovSize); // a sparse file: nothing in between is written
    } finally {
      await handle.close();
    }
    expect(await inspectStructure(file)).toEqual({ ok: false, reason: "moov box larger than 67108864 bytes" });
    await fs.rm(file);
  });
});

describe("WebM and Matroska structure", () => {
  it("a minimal WebM passes, with its duration and CodecID", async () => {
    const file = webm(el(0xec, Buffer.alloc(20)), info(f64(2500)), el(TRACKS, track(2, "A_OPUS"), track(1, "V_VP9")), el(CLUSTER, ...blocks()));
    expect(await inspectBytes(file)).toEqual({ ok: true, container: "webm", mime: "video/webm", durationMs: 2500, codec: "V_VP9" });
  });

  it("Matroska, with a 4-byte Duration in microsecond ticks", async () => {
    const duration = Buffer.alloc(4);
    duration.writeFloatBE(1_500_000);
    const file = Buffer.concat([ebmlHeader("matroska"), el(SEGMENT, info(duration, Buffer.from([0x03, 0xe8])), tracks(1, "V_MPEG4/ISO/AVC"), el(CLUSTER, ...blocks()))]);
    expect(await inspectBytes(file)).toEqual({ ok: true, container: "mkv", mime: "video/x-matroska", durationMs: 1500, codec: "V_MPEG4/ISO/AVC" });
  });

  it("a MediaRecorder-style stream (unknown sizes, no Duration) passes; cut inside a block it is refused", async () => {
    const stream = Buffer.concat([
      ebmlHeader("webm"),
      unknownSized(SEGMENT, info(), tracks(1, "V_VP8"), unknownSized(CLUSTER, ...blocks()), unknownSized(CLUSTER, ...blocks())),
    ]);
    expect(await inspectBytes(stream)).toEqual({ ok: true, container: "webm", mime: "video/webm", durationMs: null, codec: "V_VP8" });
    expect(await inspectBytes(stream.subarray(0, stream.length - 5))).toEqual({ ok: false, reason: "element 0xA3 extends past end of Segment" });
  });

  it("an EBML header with DocType webm and no Segment is refused", async () => {
    expect(await inspectBytes(ebmlHeader("webm"))).toEqual({ ok: false, reason: "no Segment" });
  });

  it("a Segment whose size runs past the end of the file is refused", async () => {
    const file = webm(info(f64(1000)), tracks(1, "V_VP9"), el(CLUSTER, ...blocks()));
    expect(await inspectBytes(file.subarray(0, file.length - 10))).toEqual({ ok: false, reason: "Segment extends past end of file" });
  });

  it("no video track, no Cluster, no Info or an unknown DocType is refused", async () => {
    expect(await inspectBytes(webm(info(f64(1000)), tracks(2, "A_OPUS"), el(CLUSTER, ...blocks())))).toEqual({ ok: false, reason: "no video track" });
    expect(await inspectBytes(webm(info(f64(1000)), tracks(1, "V_VP9")))).toEqual({ ok: false, reason: "no Cluster" });
    expect(await inspectBytes(webm(tracks(1, "V_VP9"), el(CLUSTER, ...blocks())))).toEqual({ ok: false, reason: "no Info element" });
    const other = Buffer.concat([ebmlHeader("mka\u0007"), el(SEGMENT, info(f64(1000)), tracks(1, "V_VP9"), el(CLUSTER, ...blocks()))]);
    expect(await inspectBytes(other)).toEqual({ ok: false, reason: 'unsupported DocType "mka?"' });
    expect(await inspectBytes(webm(unknownSized(INFO), tracks(1, "V_VP9")))).toEqual({ ok: false, reason: "Info of unknown size" });
  });
});

describe("hostile bytes", () => {
  /** mulberry32: a small seeded PRNG, so a failing case can be replayed. */
  function prng(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it("random bytes, alone or behind real headers, are refused without a throw", { timeout: 5000 }, async () => {
    const random = prng(20260301);
    const noise = (max: number) => Buffer.from(Array.from({ length: Math.floor(random() * max) }, () => Math.floor(random() * 256)));
    const shapes = [
      () => noise(2048),
      () => Buffer.concat([ftyp(), noise(2048)]),
      () => Buffer.concat([ftyp(), box("moov", noise(2048)), mdat]),
      () => Buffer.concat([idBytes(EBML), noise(2048)]),
      () => Buffer.concat([ebmlHeader("webm"), el(SEGMENT, noise(2048))]),
      () => Buffer.concat([ebmlHeader("webm"), unknownSized(SEGMENT, info(), noise(2048))]),
    ];
    for (let i = 0; i < 300; i++) {
      const bytes = shapes[i % shapes.length]!();
      const result = await inspectBytes(bytes);
      expect(result.ok, `case ${i}: ${bytes.toString("hex").slice(0, 80)}…`).toBe(false);
    }
  });

  it("the real clips with corrupted headers never make it throw", { timeout: 5000 }, async () => {
    const random = prng(7);
    for (const [name, headerBytes] of [["clip-h264-5s.mp4", 6800], ["clip-vp9-3s.webm", 700]] as const) {
      const clip = await fs.readFile(fixture(name));
      for (let i = 0; i < 100; i++) {
        const bytes = Buffer.from(clip);
        for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) bytes[Math.floor(random() * headerBytes)] = Math.floor(random() * 256);
        const result = await inspectBytes(bytes);
        expect(typeof result.ok).toBe("boolean");
      }
    }
  });
});

describe("choosing the probe", () => {
  it("VIDEO_PROBE unset means ffprobe when it is installed", async () => {
    expect(await resolveVideoProbe(null)).toBe("ffprobe");
    expect(await resolveVideoProbe("ffprobe")).toBe("ffprobe");
    expect(await resolveVideoProbe("structure")).toBe("structure");
  });

  it("without ffprobe: unset falls back to structure; VIDEO_PROBE=ffprobe is a configuration error", async () => {
    const pathBefore = process.env.PATH;
    process.env.PATH = dir; // no ffprobe here
    try {
      vi.resetModules(); // a fresh module, without the cached answer
      const fresh = await import("../server/src/videos/inspect.js");
      expect(await fresh.ffprobeAvailable()).toBe(false);
      expect(await fresh.resolveVideoProbe(null)).toBe("structure");
      await expect(fresh.resolveVideoProbe("ffprobe")).rejects.toThrow(/^VIDEO_PROBE: /);
      expect(await fresh.probeWithFfprobe(fixture("clip-vp9-3s.webm"))).toEqual({ ok: false, reason: "ffprobe is not installed" });
    } finally {
      process.env.PATH = pathBefore;
    }
  });
});

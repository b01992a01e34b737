/** The committed test media are byte-for-byte the design folder's fixtures. */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const EXPECTED: Record<string, { sha256: string; size: number }> = {
  "clip-h264-5s.mp4": { sha256: "5e1ae6dbbe0367f6885d8b9de4cd6d63f7d6b086264d6fab5a29f5ebb43e4815", size: 333_489 },
  "clip-vp9-3s.webm": { sha256: "742448815732436e1884107c8829699130126f59ca3c44ff9e93c846157659db", size: 83_232 },
  "clip-h264-8s-2mb.mp4": { sha256: "c428250ae4e5595843f8a4e4ab2dda3fb7e24f31f6e0b7ee7108adce270d6828", size: 2_008_228 },
  "clip-h264-truncated.mp4": { sha256: "f59dedcd8bfe7bcb71a478c3f698eb994d2e45830cac1374fe6d5e3691879e32", size: 200_000 },
  "not-a-video.mp4": { sha256: "b9934c0b1102308dc82c4e579ccef94781a150157cbfaaf40bd741b7b8ac8340", size: 190 },
};

describe("test fixtures", () => {
  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name} is intact`, () => {
      const bytes = fs.readFileSync(path.join(import.meta.dirname, "fixtures", name));
      expect(bytes.byteLength).toBe(expected.size);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(expected.sha256);
    });
  }
});

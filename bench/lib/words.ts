/**
 * Deterministic message text: a fixed 1,000-word vocabulary and 80-character texts drawn from
 * it with a seeded PRNG, so every server in every run is sent the same bytes. Nothing is
 * downloaded: the words are made from syllables by the same PRNG.
 */

import { seededRandom as prng } from "../../tests/helpers/random.js";

const ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "ch", "cl", "dr", "fl", "gr", "pl", "sh", "st", "th", "tr", ""];
const VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou"];
const CODAS = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck"];

export const WORD_COUNT = 1000;

/** The same 1,000 distinct lower-case words (1 to 3 syllables) on every call. */
export function wordList(seed = 0x77_6f_72_64): string[] {
  const rng = prng(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(rng() * items.length)]!;
  const words = new Set<string>();
  while (words.size < WORD_COUNT) {
    const syllables = 1 + Math.floor(rng() * 3);
    let word = "";
    for (let i = 0; i < syllables; i++) word += pick(ONSETS) + pick(VOWELS) + (i === syllables - 1 ? pick(CODAS) : "");
    if (word.length >= 2 && word.length <= 12) words.add(word);
  }
  return [...words];
}

/** Texts of exactly `length` characters: words joined by spaces, the last one cut to fit. */
export function textGenerator(seed: number, length = 80): () => string {
  const words = wordList();
  const rng = prng(seed);
  return () => {
    let text = words[Math.floor(rng() * words.length)]!;
    while (text.length < length) text += ` ${words[Math.floor(rng() * words.length)]!}`;
    return text.slice(0, length).trimEnd().padEnd(length, "s");
  };
}

/**
 * Turns a week's grouped activity into the report of DESIGN.md "The weekly report". Pure: the
 * same activity gives the same report, which is what makes stored weeks reproducible.
 */
import {
  REPORT_ACTIONS,
  type ConversationId,
  type ReportAction,
  type ReportConversation,
  type ReportUser,
  type UserId,
  type WeeklyReport,
} from "@wbk/shared";
import type { ActionCount, RequestCount, SliceCount, UserRecord } from "../storage/types.js";
import { formatInstant, weekWallClock, type WeekBounds } from "./week.js";

export interface ReportInput {
  bounds: WeekBounds;
  timezone: string;
  generatedAt: number;
  partial: boolean;
  /** The week's actions by kind, user and conversation. */
  actions: readonly ActionCount[];
  requests: readonly RequestCount[];
  /** The week's actions per 15-minute slice: byDay and byHour. */
  timeline: readonly SliceCount[];
  users: ReadonlyMap<UserId, UserRecord>;
  titles: ReadonlyMap<ConversationId, string>;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** What "the conversations a user wrote to" counts: changes other members see (not read positions). */
const WRITES: ReadonlySet<ReportAction> = new Set([
  "message.sent",
  "message.edited",
  "message.deleted",
  "video.shared",
  "reaction.set",
]);

interface UserTally {
  messages: number;
  videos: number;
  videoBytes: number;
  apiCalls: Map<string, number>;
  wroteTo: Set<ConversationId>;
  first: number;
  last: number;
}

interface ConversationTally {
  messages: number;
  videos: number;
  actors: Set<UserId>;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Ids that appear in the activity: the caller loads their users and titles. */
export function idsIn(actions: readonly ActionCount[], requests: readonly RequestCount[]) {
  const userIds = new Set<UserId>();
  const conversationIds = new Set<ConversationId>();
  for (const a of actions) {
    if (a.userId) userIds.add(a.userId);
    if (a.conversationId) conversationIds.add(a.conversationId);
  }
  for (const r of requests) if (r.userId) userIds.add(r.userId);
  return { userIds: [...userIds], conversationIds: [...conversationIds] };
}

export function buildReport(input: ReportInput): WeeklyReport {
  const { bounds, timezone } = input;
  const wallClock = weekWallClock(bounds, timezone);
  const actions = Object.fromEntries(REPORT_ACTIONS.map((key) => [key, 0])) as Record<ReportAction, number>;
  const byDay: number[] = new Array(7).fill(0);
  const byHour: number[] = new Array(24).fill(0);
  const users = new Map<UserId, UserTally>();
  const conversations = new Map<ConversationId, ConversationTally>();

  const tallyOf = (userId: UserId, first: number, last: number): UserTally => {
    let tally = users.get(userId);
    if (!tally) {
      tally = { messages: 0, videos: 0, videoBytes: 0, apiCalls: new Map(), wroteTo: new Set(), first, last };
      users.set(userId, tally);
    }
    tally.first = Math.min(tally.first, first);
    tally.last = Math.max(tally.last, last);
    return tally;
  };

  for (const action of input.actions) {
    actions[action.kind] += action.count;
    const messages = action.kind === "message.sent" ? action.count : 0;
    const videos = action.kind === "video.shared" ? action.count : 0;
    if (action.userId) {
      const tally = tallyOf(action.userId, action.first, action.last);
      tally.messages += messages;
      tally.videos += videos;
      tally.videoBytes += action.bytes ?? 0;
      if (action.conversationId && WRITES.has(action.kind)) tally.wroteTo.add(action.conversationId);
    }
    if (action.conversationId) {
      let tally = conversations.get(action.conversationId);
      if (!tally) {
        tally = { messages: 0, videos: 0, actors: new Set() };
        conversations.set(action.conversationId, tally);
      }
      tally.messages += messages;
      tally.videos += videos;
      if (action.userId) tally.actors.add(action.userId);
    }
  }

  // Every offset and change of offset falls on a quarter hour: a slice lies in one local hour.
  for (const slice of input.timeline) {
    const wall = wallClock(slice.at);
    const day = Math.floor(wall / DAY_MS) - bounds.monday;
    if (day < 0 || day > 6) throw new Error(`activity at ${slice.at} is outside ${bounds.week}`);
    const hour = Math.floor((wall % DAY_MS) / HOUR_MS);
    byDay[day] = (byDay[day] ?? 0) + slice.count;
    byHour[hour] = (byHour[hour] ?? 0) + slice.count;
  }

  let apiCalls = 0;
  for (const request of input.requests) {
    apiCalls += request.count;
    // Anonymous requests count only in the totals.
    if (!request.userId) continue;
    const tally = tallyOf(request.userId, request.first, request.last);
    const key = `${request.method} ${request.route}`;
    tally.apiCalls.set(key, (tally.apiCalls.get(key) ?? 0) + request.count);
  }

  const reportUsers: ReportUser[] = [];
  for (const userId of [...users.keys()].sort(byKey)) {
    const user = input.users.get(userId);
    if (!user) continue;
    const tally = users.get(userId)!;
    reportUsers.push({
      userId,
      email: user.email,
      displayName: user.displayName,
      messages: tally.messages,
      videos: tally.videos,
      videoBytes: tally.videoBytes,
      apiCalls: Object.fromEntries([...tally.apiCalls].sort(([a], [b]) => byKey(a, b))),
      conversations: tally.wroteTo.size,
      firstSeen: formatInstant(tally.first, timezone, wallClock(tally.first)),
      lastSeen: formatInstant(tally.last, timezone, wallClock(tally.last)),
    });
  }

  const reportConversations: ReportConversation[] = [...conversations.keys()].sort(byKey).map((conversationId) => {
    const tally = conversations.get(conversationId)!;
    return {
      conversationId,
      title: input.titles.get(conversationId) ?? "",
      messages: tally.messages,
      videos: tally.videos,
      activeUsers: tally.actors.size,
    };
  });

  return {
    week: bounds.week,
    from: formatInstant(bounds.from, timezone),
    to: formatInstant(bounds.to, timezone),
    timezone,
    generatedAt: formatInstant(input.generatedAt, timezone),
    partial: input.partial,
    totals: {
      activeUsers: reportUsers.length,
      messages: actions["message.sent"],
      videos: actions["video.shared"],
      videoBytes: reportUsers.reduce((sum, u) => sum + u.videoBytes, 0),
      apiCalls,
    },
    users: reportUsers,
    actions,
    conversations: reportConversations,
    byDay,
    byHour,
  };
}

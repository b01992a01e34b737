export { createChatClient, ChatClient, type LogoutOptions } from "./client.js";
export { ConversationHandle } from "./conversation.js";
export { ChatError } from "./errors.js";
export { memoryStorage, indexedDbStorage, type StorageAdapter, type DocumentStore } from "./storage.js";
export type {
  ChatClientEvents,
  ChatClientOptions,
  ChatMessage,
  ConnectionState,
  Conversation,
  ConversationEvents,
  DeliveryState,
  Limits,
  Listener,
  Message,
  MessageId,
  SendOptions,
  SyncStatus,
  SdkEvents,
  User,
  UserId,
} from "./types.js";

/** The weekly report's contract, for apps that show reports to admins (the SDK has no report calls). */
export { REPORT_ACTIONS, type ReportAction, type ReportIndex, type WeeklyReport } from "@wbk/shared";

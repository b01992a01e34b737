export { createChatClient, ChatClient, type LogoutOptions } from "./client.js";
export { ConversationHandle } from "./conversation.js";
export { ChatError } from "./errors.js";
export {
  memoryStorage,
  indexedDbStorage,
  memoryFiles,
  indexedDbFiles,
  type StorageAdapter,
  type DocumentStore,
  type FileStore,
} from "./storage.js";
export type { VideoUpload } from "./videos/upload.js";
export type { VideoSource, VideoInput } from "./videos/source.js";
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
  PresenceState,
  PresenceUser,
  QuotedMessage,
  SendOptions,
  ShareVideoOptions,
  SharedVideo,
  SyncStatus,
  SdkEvents,
  UploadProgress,
  User,
  UserId,
  VideoId,
  VideoInfo,
  VideoStatus,
  VideoUploadEvents,
  VideoUploadState,
  VideoUploadWait,
} from "./types.js";

/** The weekly report's contract, for apps that show reports to admins (the SDK has no report calls). */
export type { SearchPage, SearchResult } from "@wbk/shared";
export { REPORT_ACTIONS, type ReportAction, type ReportIndex, type WeeklyReport } from "@wbk/shared";
/** The longest search query the server takes (characters, after trimming). */
export { SEARCH_QUERY_MAX } from "@wbk/shared";

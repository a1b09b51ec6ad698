// TypeScript declarations for opcore's Node.js bindings. Every call has a synchronous form
// and a Promise-returning `…Async` form that runs on a worker thread.
//
// Self-contained: no `@types/node` and no particular `lib` setting is needed (the one global
// used, `Symbol.dispose`, is declared below).

declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
  var Symbol: SymbolConstructor;
}

/** Options of `opc_store_open` (all optional; unknown keys are an error). */
export interface StoreOptions {
  argon2?: { m_cost?: number; t_cost?: number; p_cost?: number };
  deletion_grace_seconds?: number;
  synchronous?: 'full' | 'normal';
  rate_limits?: Partial<
    Record<'track' | 'export' | 'insights' | 'manage', { limit: number; window_seconds: number }>
  >;
  cross_process_staleness_ms?: number;
  credential_cache_capacity?: number;
  busy_timeout_ms?: number;
  access_token_ttl_seconds?: number;
  refresh_token_ttl_seconds?: number;
  authorization_code_ttl_seconds?: number;
}

export interface Organization {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

export type ClientType = 'read' | 'write' | 'root';

export interface Client {
  id: string;
  name: string;
  type: ClientType;
  projectId: string | null;
  organizationId: string;
  ignoreCorsAndSecret: boolean;
  /** Where authorization codes may be sent, matched exactly. */
  redirectUris: string[];
  /** Rate-limit tier; null: the per-family limits apply. */
  tier: Tier | null;
  /** When the client's credentials stop working; null: never. */
  expiresAt: string | null;
  /** The last successful authentication (within 60 s); null: never used. */
  lastUsedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Project {
  id: string;
  name: string;
  organizationId: string;
  domain: string | null;
  cors: string[];
  crossDomain: boolean;
  allowUnsafeRevenueTracking: boolean;
  filters: unknown[];
  types: ProjectType[];
  eventsCount: number;
  createdAt: string;
  updatedAt: string;
  deleteAt: string | null;
}

export interface Reference {
  id: string;
  projectId: string;
  title: string;
  description: string | null;
  date: string;
  createdAt: string;
  updatedAt: string;
}

export interface CreatedOrganization {
  organization: Organization;
  /** The first root client; `secret` is shown this once. */
  client: Client & { secret: string };
}

export interface FieldError {
  path: Array<string | number>;
  message: string;
}

export type Headers = Record<string, string> | Array<[string, string]>;
/** A request body: bytes (a Node.js `Buffer` is a `Uint8Array`), text, or JSON as an object. */
export type Body = Uint8Array | string | object | null | undefined;

/** A Manage API response, as an HTTP server would send it. */
export class Response {
  readonly status: number;
  /** Lowercase names, in the order a server sends them. */
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly json: any;
  /** For a 5xx response, the library's internal cause for logs (never a secret). */
  readonly internalError: string | null;
  readonly ok: boolean;
  /** Throws the OpcoreError subclass of an error status; returns this otherwise. */
  raiseForStatus(): this;
}

export interface RateLimit {
  limit: number;
  remaining: number;
  reset: number;
}

/** Who is calling and what they may reach. */
export class Principal {
  readonly clientId: string;
  readonly clientType: ClientType;
  readonly organizationId: string;
  readonly clientProjectId: string | null;
  readonly projectId: string | null;
  readonly rateLimit: RateLimit | null;
  readonly status: number;
  /** The `x-ratelimit-*` headers the host's response must carry. */
  readonly headers: Record<string, string>;
}

/** What an active access token proves. */
export class TokenInfo {
  readonly clientId: string;
  readonly clientType: ClientType;
  readonly organizationId: string;
  readonly clientProjectId: string | null;
  /** Space-separated API families, e.g. 'track manage'. */
  readonly scope: string;
  /** The user an authorization-code token acts for; null for client credentials. */
  readonly subject: string | null;
  /** Unix time in seconds. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export interface AuthorizeOptions {
  /** Space-separated API families; null for all the client's type allows. */
  scope?: string | null;
  /** Returned unchanged in the redirect. */
  state?: string | null;
  /** Must be 'S256' (the default). */
  codeChallengeMethod?: string;
}

export const Family: Readonly<{ TRACK: 0; EXPORT: 1; INSIGHTS: 2; MANAGE: 3 }>;
export type FamilyName = 'track' | 'export' | 'insights' | 'manage';

export interface AuthenticateOptions {
  secret?: string | null;
  origin?: string | null;
  projectId?: string | null;
  source?: string | null;
}

export type ProjectType = 'website' | 'app' | 'backend';
export type Tier = 'free' | 'pro' | 'enterprise';

/** `POST /manage/projects`. */
export interface ProjectCreate {
  name: string;
  domain?: string | null;
  cors?: string[];
  crossDomain?: boolean;
  types?: ProjectType[];
}

/** `PATCH /manage/projects/{id}`. */
export interface ProjectUpdate {
  name?: string;
  domain?: string | null;
  cors?: string[];
  crossDomain?: boolean;
  allowUnsafeRevenueTracking?: boolean;
}

/** `POST /manage/clients`. */
export interface ClientCreate {
  name: string;
  projectId?: string | null;
  type?: ClientType;
  redirectUris?: string[];
  tier?: Tier | null;
  /** Must be in the future; null: never expires. */
  expiresAt?: string | null;
}

/** `PATCH /manage/clients/{id}`. */
export interface ClientUpdate {
  name?: string;
  type?: ClientType;
  projectId?: string | null;
  redirectUris?: string[];
  tier?: Tier | null;
  /** A past instant expires the client at once; null: never expires. */
  expiresAt?: string | null;
}

/** Client inputs of `admin()` only: it alone accepts `ignoreCorsAndSecret`. */
export interface AdminClientCreate extends ClientCreate {
  ignoreCorsAndSecret?: boolean;
}
export interface AdminClientUpdate extends ClientUpdate {
  ignoreCorsAndSecret?: boolean;
}

/** `POST /manage/references`. */
export interface ReferenceCreate {
  projectId: string;
  title: string;
  description?: string | null;
  /** RFC 3339; the reference's `date`. */
  datetime?: string;
}

/** `PATCH /manage/references/{id}`. */
export interface ReferenceUpdate {
  title?: string;
  description?: string | null;
  datetime?: string;
}

export type CreatedProject = Project & { client: { id: string; secret: string } };
export type CreatedClient = Client & { secret: string };
/** What `clients.rotate` returns: the new secret (shown this once) and when the old one stops. */
export type RotatedClient = CreatedClient & { previousSecretExpiresAt: string | null };

/** Clients: a Collection that can also rotate a secret (docs/lifecycle.md). */
export class ClientCollection<TCreate, TUpdate> extends Collection<
  Client,
  CreatedClient,
  TCreate,
  TUpdate
> {
  /** A new secret; the old one keeps working for `graceSeconds` (0 to 2592000, default 0). */
  rotate(id: string, graceSeconds?: number): RotatedClient;
  rotateAsync(id: string, graceSeconds?: number): Promise<RotatedClient>;
}

/**
 * One Manage API collection. `T` is the resource, `TCreated` what `create` returns, `TCreate`
 * and `TUpdate` the inputs; field names are the API's.
 */
export class Collection<T, TCreated = T, TCreate = Partial<T>, TUpdate = Partial<TCreate>> {
  /** Newest first; clients and references accept `{projectId}`. */
  list(filter?: { projectId?: string | null }): T[];
  get(id: string): T;
  create(fields: TCreate): TCreated;
  update(id: string, fields: TUpdate): T;
  delete(id: string): { success: true };
  listAsync(filter?: { projectId?: string | null }): Promise<T[]>;
  getAsync(id: string): Promise<T>;
  createAsync(fields: TCreate): Promise<TCreated>;
  updateAsync(id: string, fields: TUpdate): Promise<T>;
  deleteAsync(id: string): Promise<{ success: true }>;
}

/** The Manage API for one root client. */
export class Manage {
  readonly projects: Collection<Project, CreatedProject, ProjectCreate, ProjectUpdate>;
  readonly clients: ClientCollection<ClientCreate, ClientUpdate>;
  readonly references: Collection<Reference, Reference, ReferenceCreate, ReferenceUpdate>;
  /** Sends `method` to `/manage${path}`; returns the parsed body of a 2xx response. */
  request(method: string, path: string, body?: Body): any;
  requestAsync(method: string, path: string, body?: Body): Promise<any>;
}

/**
 * One organization's resources through the direct C API (no credentials, no rate limit).
 * Same methods as Manage's collections; client create/update also accept
 * `ignoreCorsAndSecret`.
 */
export class Admin {
  readonly projects: Collection<Project, CreatedProject, ProjectCreate, ProjectUpdate>;
  readonly clients: ClientCollection<AdminClientCreate, AdminClientUpdate>;
  readonly references: Collection<Reference, Reference, ReferenceCreate, ReferenceUpdate>;
}
export { Collection as AdminCollection };

/** An open opcore store. */
export class Store {
  constructor(path: string, options?: StoreOptions);
  /** Opens the store on a worker thread. */
  static open(path: string, options?: StoreOptions): Promise<Store>;
  /** Idempotent; also done when the object is garbage collected. */
  close(): void;
  readonly closed: boolean;
  [Symbol.dispose](): void;
  createOrganization(name: string): CreatedOrganization;
  getOrganization(organizationId: string): Organization;
  listOrganizations(): Organization[];
  deleteOrganization(organizationId: string): void;
  purge(): number;
  incrementEvents(organizationId: string, projectId: string, n?: number): number;
  handle(
    method: string,
    target: string,
    headers?: Headers | null,
    body?: Body,
    options?: { source?: string | null },
  ): Response;
  manage(clientId: string, secret: string, options?: { source?: string | null }): Manage;
  admin(organizationId: string): Admin;
  authenticate(
    family: FamilyName | Uppercase<FamilyName> | number,
    clientId: string | null,
    options?: AuthenticateOptions,
  ): Principal;
  /** The URL to redirect the user agent to, carrying `code` and `state` (or `error`). */
  authorize(
    clientId: string,
    redirectUri: string,
    codeChallenge: string,
    subject: string,
    options?: AuthorizeOptions,
  ): string;
  /** Throws Unauthorized (`error`: missing_api_key, invalid_api_key, token_expired). */
  verifyToken(token: string | null): TokenInfo;

  // The same calls on a worker thread: the Promise rejects with the same error classes and
  // the failing call's own detail.
  createOrganizationAsync(name: string): Promise<CreatedOrganization>;
  getOrganizationAsync(organizationId: string): Promise<Organization>;
  listOrganizationsAsync(): Promise<Organization[]>;
  deleteOrganizationAsync(organizationId: string): Promise<void>;
  purgeAsync(): Promise<number>;
  incrementEventsAsync(organizationId: string, projectId: string, n?: number): Promise<number>;
  handleAsync(
    method: string,
    target: string,
    headers?: Headers | null,
    body?: Body,
    options?: { source?: string | null },
  ): Promise<Response>;
  authenticateAsync(
    family: FamilyName | Uppercase<FamilyName> | number,
    clientId: string | null,
    options?: AuthenticateOptions,
  ): Promise<Principal>;
  authorizeAsync(
    clientId: string,
    redirectUri: string,
    codeChallenge: string,
    subject: string,
    options?: AuthorizeOptions,
  ): Promise<string>;
  verifyTokenAsync(token: string | null): Promise<TokenInfo>;
}

/** The loaded library's version, e.g. '0.1.0'. */
export function version(): string;

export class OpcoreError extends Error {
  /** HTTP status of the outcome, or null when a C call failed without a response. */
  readonly status: number | null;
  /** C status name (`OPC_NOT_FOUND`, `OPC_STORAGE`, …) when a C call failed, else null. */
  readonly code: string | null;
  readonly headers: Record<string, string>;
  /** The response body's `error` (e.g. 'invalid_api_key'), or null. */
  readonly error: string | null;
}
export class ValidationError extends OpcoreError {
  readonly details: FieldError[];
}
export class Unauthorized extends OpcoreError {}
export class Forbidden extends OpcoreError {}
export class NotFound extends OpcoreError {}
export class RateLimited extends OpcoreError {
  /** Seconds until the next request can succeed. */
  readonly retryAfter: number | null;
}
export class StoreError extends OpcoreError {}

// Compiled (not run) by types.test.js with --strict: the declarations describe the API.
import {
  Store, Family, Manage, Admin, Response, Principal, OpcoreError, ValidationError, RateLimited,
  StoreError, Unauthorized, Forbidden, NotFound, FieldError, Project, Client, TokenInfo, version,
} from '..';

const store: Store = new Store('types.db', { argon2: { m_cost: 8, t_cost: 1, p_cost: 1 } });
const { organization, client } = store.createOrganization('Acme');
const orgId: string = organization.id;
const secret: string = client.secret;
const manage: Manage = store.manage(client.id, secret, { source: '127.0.0.1' });
const project: Project & { client: { id: string; secret: string } } =
  manage.projects.create({ name: 'Web' });
const clients: Client[] = manage.clients.list({ projectId: project.id });
const admin: Admin = store.admin(orgId);
const server: boolean =
  admin.clients.create({ name: 'Server', ignoreCorsAndSecret: true }).ignoreCorsAndSecret;
const created: string = manage.clients.create({ name: 'Reader', type: 'read' }).secret;
const done: { success: true } = manage.references.delete('x');
const response: Response = store.handle('GET', '/manage/projects', [['a', 'b']], { x: 1 });
const status: number = response.raiseForStatus().status;
const principal: Principal = store.authenticate(Family.TRACK, project.client.id, { origin: 'https://a.com' });
const remaining: number | undefined = principal.rateLimit?.remaining;
const count: number = store.purge() + store.incrementEvents(orgId, project.id, 2);
const url: string = store.authorize(client.id, 'https://a.example/cb', 'x'.repeat(43), 'user', {
  scope: 'manage', state: null,
});
const info: TokenInfo = store.verifyToken(null);
const expires: number = info.expiresAt;
const tier: 'free' | 'pro' | 'enterprise' | null = clients[0].tier;
const uris: string[] = clients[0].redirectUris;
const lastUsed: string | null = clients[0].lastUsedAt;
const expiry: string | null = manage.clients.update('x', { expiresAt: null }).expiresAt;
const rotated = manage.clients.rotate('x', 3600);
const until: string | null = rotated.previousSecretExpiresAt;
const rotatedSecret: string = admin.clients.rotate('x').secret;
void [lastUsed, expiry, until, rotatedSecret];
try {
  store.authenticate('export', null);
} catch (e) {
  if (e instanceof ValidationError) { const d: FieldError[] = e.details; void d; }
  if (e instanceof RateLimited) { const r: number | null = e.retryAfter; void r; }
  if (e instanceof OpcoreError) { const c: string | null = e.code; const r: string | null = e.error; void [c, r]; }
  void [StoreError, Unauthorized, Forbidden, NotFound];
}
store.close();
const v: string = version();
void [clients, server, created, done, status, remaining, count, v, url, expires, tier, uris];

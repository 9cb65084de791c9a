-- The command line's sign-in: despacito is an OAuth 2.1 authorization server
-- for its own CLI (authorization code + PKCE S256, loopback redirects,
-- short-lived access tokens, single-use rotating refresh tokens).

-- Registered clients. Only public clients (no secret: a CLI cannot keep one)
-- whose redirect URIs must be loopback addresses.
create table oauth_clients (
  id text primary key,
  name text not null,
  created_at timestamptz not null default now()
);

insert into oauth_clients (id, name) values ('despacito-cli', 'despacito command line');

-- One row per CLI sign-in: the family every rotated refresh token and every
-- access token belongs to. Revoking it (logout, replay, disable, password
-- change, the UI's Tokens page) ends every token of the family at once.
create table oauth_grants (
  id uuid primary key default gen_random_uuid(),
  client_id text not null references oauth_clients (id),
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  last_used_at timestamptz not null default now(),
  -- Sliding: moves forward with every refresh.
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text,
  client_address text,
  user_agent text
);

create index oauth_grants_user on oauth_grants (user_id) where revoked_at is null;

-- Authorization codes: single use, a minute at most. Only the SHA-256 is
-- stored; a used code keeps its row (with the grant it made) so a replay can
-- revoke what the first use obtained.
create table oauth_codes (
  code_sha256 char(64) primary key,
  client_id text not null references oauth_clients (id),
  user_id uuid not null references users (id) on delete cascade,
  redirect_uri text not null,
  code_challenge text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  grant_id uuid references oauth_grants (id) on delete cascade
);

create index oauth_codes_expires_at on oauth_codes (expires_at);

-- Refresh tokens: each usable once; using one issues the next. A used one
-- presented again is a replay (a stolen copy) and revokes its grant.
create table oauth_refresh_tokens (
  token_sha256 char(64) primary key,
  grant_id uuid not null references oauth_grants (id) on delete cascade,
  created_at timestamptz not null default now(),
  used_at timestamptz
);

create index oauth_refresh_tokens_grant on oauth_refresh_tokens (grant_id);

-- Access tokens: bearer, short-lived, valid while their grant is.
create table oauth_access_tokens (
  token_sha256 char(64) primary key,
  grant_id uuid not null references oauth_grants (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);

create index oauth_access_tokens_grant on oauth_access_tokens (grant_id);
create index oauth_access_tokens_expires_at on oauth_access_tokens (expires_at);

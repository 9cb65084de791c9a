-- The identity tables from the original despacito: people (users, keyed by
-- issuer + subject, never by email), their browser sessions, and the bearer
-- tokens machines use.

create table users (
  id uuid primary key default gen_random_uuid(),
  -- OIDC issuer URL, or 'local' for accounts created with `despacito user add`.
  issuer text not null,
  subject text not null,
  username text,
  email text,
  display_name text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  last_login_at timestamptz,
  disabled_at timestamptz,
  unique (issuer, subject)
);

create table sessions (
  id uuid primary key default gen_random_uuid(),
  -- SHA-256 (hex) of the cookie value; the cookie value itself is never stored.
  token_sha256 char(64) not null unique,
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  -- Absolute end of the session; the idle limit is checked against last_seen_at.
  expires_at timestamptz not null,
  revoked_at timestamptz,
  client_address text,
  user_agent text
);

create index sessions_user_id on sessions (user_id);

create table auth_token (
  id uuid primary key default gen_random_uuid(),
  -- SHA-256 (hex) of the token. A lookup is one index probe; no bcrypt: the
  -- token has 256 random bits, so a fast hash is as strong as a slow one.
  token_sha256 char(64) not null unique,
  description text not null,
  -- Packages this token may deploy; null means any.
  packages text[],
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz,
  created_by_user_id uuid references users (id) on delete set null,
  created_by_token_id uuid references auth_token (id) on delete set null
);

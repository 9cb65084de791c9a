-- Sign-in: passwords for local accounts, the server side of OIDC logins in
-- flight, and an index for expiring sessions.

-- bcrypt hash (cost >= 12) of a local account's password. Only local
-- accounts (issuer 'local', subject = username) may have one.
alter table users add column password_hash text;
alter table users add constraint users_password_only_local
  check (password_hash is null or issuer = 'local');

-- One row per OIDC login started and not yet finished. The browser holds a
-- random binding value in a short-lived cookie; only its SHA-256 is stored.
-- The callback deletes the row as it reads it, so each is used at most once.
create table oidc_transactions (
  binding_sha256 char(64) primary key,
  issuer text not null,
  state text not null,
  nonce text not null,
  -- PKCE verifier: useless without the authorization code, and gone within minutes.
  code_verifier text not null,
  return_to text not null default '/',
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);

create index oidc_transactions_expires_at on oidc_transactions (expires_at);
create index sessions_expires_at on sessions (expires_at);

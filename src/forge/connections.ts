/**
 * Connecting a repository: check the PAT against the forge, generate the
 * webhook secret, create the webhook when the PAT may administer the repo
 * (manual instructions otherwise), store everything with the secrets
 * sealed. Also disconnecting (webhook removed best effort); rotation is in
 * rotation.ts. Never returns the PAT; returns the webhook secret only where
 * README says (manual setup, rotation).
 */

import { DomainError } from "../core/errors.ts";
import { deleteSecrets, putSecret, readSecret } from "../secrets/store.ts";
import { ForgeRequestError } from "./client.ts";
import type { ForgeDeps } from "./deps.ts";
import type { Trigger } from "./events.ts";
import { forgeProblem, NEEDED_SCOPE, type NewConnection } from "./connection_input.ts";
import { requireConnectedSource } from "./source_check.ts";
import {
  type Connection,
  connectionForPackage,
  type ConnectionView,
  connectionViews,
  deleteConnectionRow,
  getConnection,
  insertConnection,
} from "./store.ts";

export const eventsFor = (trigger: Trigger) => trigger === "release" ? ["release"] : ["create"];

export const webhookUrl = (baseUrl: string, id: string) => `${baseUrl}/webhook/forgejo/${id}`;

export type WebhookSetup =
  | { created: true; id: number }
  | {
    created: false;
    manual: {
      url: string;
      secret: string;
      content_type: "json";
      events: string[];
      token_page_url: string;
    };
  };

export async function createConnection(
  deps: ForgeDeps,
  input: NewConnection,
  createdBy: string,
): Promise<{ view: ConnectionView; webhook: WebhookSetup }> {
  const { sql, sealer, config, log } = deps;
  // Statuses and tag pins go to this repository: refuse a package the flake fetches elsewhere.
  await requireConnectedSource(deps, input, input.package);
  if (await connectionForPackage(sql, input.package)) {
    throw new DomainError(
      "conflict",
      "package_connected",
      `package "${input.package}" is already connected to a repository`,
    );
  }
  const client = deps.clientFor(input.forgeUrl, input.token);
  const where = `${input.forgeUrl} (${input.owner}/${input.repo})`;
  const repo = await client.getRepo(input.owner, input.repo).catch((e) => {
    throw forgeProblem(e, where);
  });
  // `permissions` is the user's (services/convert/repository.go); the token's scope is
  // checked per request, so a read-only token of a writer passes here and is probed below.
  if (!repo.permissions.push) {
    throw new DomainError(
      "unprocessable",
      "forge_token_cannot_write",
      `the token's user may not write to ${input.owner}/${input.repo}; commit statuses need write access to the repository`,
      { extra: { needed_scope: NEEDED_SCOPE } },
    );
  }
  const scope = await client.writeScope(input.owner, input.repo).catch((e) => {
    throw forgeProblem(e, where);
  });
  if (!scope.ok) {
    throw new DomainError(
      "unprocessable",
      "forge_token_cannot_write",
      `the token may only read ${input.owner}/${input.repo} (the forge requires ${scope.missing}); commit statuses need a token with the ${NEEDED_SCOPE} scope`,
      { extra: { needed_scope: NEEDED_SCOPE } },
    );
  }
  const forgeType = await client.detectType().catch((e) => {
    throw forgeProblem(e, input.forgeUrl);
  });
  const id = crypto.randomUUID();
  const secret = randomSecret();
  const url = webhookUrl(config.baseUrl, id);
  const events = eventsFor(input.trigger);

  let webhookId: number | null = null;
  if (repo.permissions.admin) {
    try {
      webhookId = (await client.createHook(input.owner, input.repo, {
        type: forgeType,
        url,
        secret,
        events,
      })).id;
    } catch (e) {
      if (!(e instanceof ForgeRequestError) || e.transient || e.moved) {
        throw forgeProblem(e, where);
      }
      // A forge policy (webhooks disabled, a hook limit) refuses: fall back to manual setup.
      log.info("webhook creation refused; manual setup", {
        component: "forge",
        connection_id: id,
        status: e.status,
      });
    }
  }

  try {
    await sql.begin(async (tx) => {
      const tokenSecretId = await putSecret(tx, sealer, "forge_token", input.token);
      const webhookSecretId = await putSecret(tx, sealer, "webhook_secret", secret);
      await insertConnection(tx, {
        id,
        forgeUrl: input.forgeUrl,
        forgeType,
        owner: input.owner,
        repo: input.repo,
        package: input.package,
        trigger: input.trigger,
        sourceUrl: input.sourceUrl,
        webhookId,
        tokenSecretId,
        webhookSecretId,
        createdBy,
      });
    });
  } catch (e) {
    if (webhookId !== null) {
      await client.deleteHook(input.owner, input.repo, webhookId).catch(() => {});
    }
    if ((e as { code?: string }).code === "23505") {
      throw new DomainError(
        "conflict",
        "package_connected",
        `package "${input.package}" is already connected to a repository`,
        { cause: e },
      );
    }
    throw e;
  }
  log.info("repository connected", {
    component: "forge",
    connection_id: id,
    forge_url: input.forgeUrl,
    repository: `${input.owner}/${input.repo}`,
    package: input.package,
    forge_type: forgeType,
    webhook_id: webhookId,
  });
  const [view] = await connectionViews(sql, id);
  const webhook: WebhookSetup = webhookId !== null ? { created: true, id: webhookId } : {
    created: false,
    manual: {
      url,
      secret,
      content_type: "json",
      events,
      token_page_url: `${input.forgeUrl}/user/settings/applications`,
    },
  };
  return { view, webhook };
}

export async function mustGet(deps: ForgeDeps, id: string): Promise<Connection> {
  const c = await getConnection(deps.sql, id);
  if (!c) {
    throw new DomainError("not_found", "repository_not_found", "no such repository connection");
  }
  return c;
}

export async function deleteConnection(deps: ForgeDeps, id: string) {
  const c = await mustGet(deps, id);
  let removed = false;
  let warning: string | undefined;
  const hooksPage = `${c.forgeUrl}/${c.owner}/${c.repo}/settings/hooks`;
  if (c.webhookId === null) {
    warning = `despacito did not create this webhook; remove it by hand at ${hooksPage}`;
  } else {
    try {
      const token = await readSecret(deps.sql, deps.sealer, c.tokenSecretId);
      await deps.clientFor(c.forgeUrl, token).deleteHook(c.owner, c.repo, c.webhookId);
      removed = true;
    } catch (e) {
      warning = `could not remove webhook ${c.webhookId} (${
        e instanceof Error ? e.message : "error"
      }); remove it by hand at ${hooksPage}`;
    }
  }
  await deps.sql.begin(async (tx) => {
    await deleteConnectionRow(tx, c.id);
    await deleteSecrets(tx, [c.tokenSecretId, c.webhookSecretId, c.previousSecretId]);
  });
  deps.log.info("repository disconnected", {
    component: "forge",
    connection_id: c.id,
    webhook_removed: removed,
  });
  return { deleted: true as const, webhook_removed: removed, ...(warning ? { warning } : {}) };
}

export function randomSecret(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

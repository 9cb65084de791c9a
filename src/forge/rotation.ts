/**
 * Rotating a connection's webhook secret so that the forge really signs
 * with the new one. Forgejo's hook edit ignores `config.secret`
 * (routers/api/v1/utils/hook.go, editHook reads only url and content_type);
 * Gitea applies it. So despacito never edits: it creates a new hook with
 * the new secret (hook creation takes the secret on both), reads it back,
 * then deletes the old hook. The previous secret stays valid for
 * DESPACITO_FORGE_SECRET_OVERLAP, which covers manual hooks and deliveries
 * already signed with it. A hook set up by hand cannot be rotated for the
 * operator: the answer says so, with the secret to paste.
 */

import { DomainError } from "../core/errors.ts";
import { deleteSecrets, putSecret, readSecret } from "../secrets/store.ts";
import type { ForgeClient } from "./client.ts";
import { eventsFor, mustGet, randomSecret, webhookUrl } from "./connections.ts";
import { forgeProblem } from "./connection_input.ts";
import type { ForgeDeps } from "./deps.ts";
import { type Connection, setWebhookId, setWebhookSecrets } from "./store.ts";

export interface Rotation {
  secret: string;
  previous_valid_until: string;
  /** The forge now signs with the new secret (a new hook replaced the old one). */
  webhook_updated: boolean;
  webhook_id: number | null;
  /** Set when the old hook could not be removed, or when the hook is manual. */
  warning?: string;
}

export async function rotateWebhookSecret(deps: ForgeDeps, id: string): Promise<Rotation> {
  const c = await mustGet(deps, id);
  const secret = randomSecret();
  const validUntil = new Date(deps.now().getTime() + deps.config.forgeSecretOverlapMs);
  // Both secrets verify from here on, so the old hook's deliveries keep passing while the
  // new hook is made; on failure the connection goes back to exactly what it was.
  const newSecretId = await deps.sql.begin(async (tx) => {
    const newId = await putSecret(tx, deps.sealer, "webhook_secret", secret);
    await setWebhookSecrets(tx, c.id, {
      webhookSecretId: newId,
      previousSecretId: c.webhookSecretId,
      previousValidUntil: validUntil,
    });
    return newId;
  });
  let hook: { id: number; warning?: string } | undefined;
  if (c.webhookId !== null) {
    try {
      hook = await replaceHook(deps, c, secret);
    } catch (e) {
      await deps.sql.begin(async (tx) => {
        await setWebhookSecrets(tx, c.id, c);
        await deleteSecrets(tx, [newSecretId]);
      });
      deps.log.warn("webhook secret not rotated: the forge refused the new hook", {
        connection_id: c.id,
        error: e,
      });
      throw e instanceof DomainError ? e : forgeProblem(e, `${c.forgeUrl} (${c.owner}/${c.repo})`);
    }
  }
  await deps.sql.begin(async (tx) => {
    if (hook) await setWebhookId(tx, c.id, hook.id);
    await deleteSecrets(tx, [c.previousSecretId]);
  });
  const warning = hook?.warning ??
    (c.webhookId === null
      ? `despacito did not create this webhook: paste the new secret into it at ${
        hooksPage(c)
      } before ${validUntil.toISOString()}`
      : undefined);
  deps.log.info("webhook secret rotated", {
    connection_id: c.id,
    webhook_updated: hook !== undefined,
    webhook_id: hook?.id ?? c.webhookId,
    previous_valid_until: validUntil.toISOString(),
  });
  return {
    secret,
    previous_valid_until: validUntil.toISOString(),
    webhook_updated: hook !== undefined,
    webhook_id: hook?.id ?? c.webhookId,
    ...(warning ? { warning } : {}),
  };
}

/** Creates the new hook, checks it reads back as made, removes the old one (best effort). */
async function replaceHook(
  deps: ForgeDeps,
  c: Connection,
  secret: string,
): Promise<{ id: number; warning?: string }> {
  const token = await readSecret(deps.sql, deps.sealer, c.tokenSecretId);
  const client = deps.clientFor(c.forgeUrl, token);
  const url = webhookUrl(deps.config.baseUrl, c.id);
  const events = eventsFor(c.trigger);
  const { id } = await client.createHook(c.owner, c.repo, {
    type: c.forgeType,
    url,
    secret,
    events,
  });
  // The API never shows a secret (modules/structs Hook has no such field); what it shows
  // must be what was asked for, or the new hook is removed and nothing changes.
  const back = await client.getHook(c.owner, c.repo, id).catch(async (e) => {
    await client.deleteHook(c.owner, c.repo, id).catch(() => {});
    throw e;
  });
  const mismatch = back.url !== url || !back.active || back.contentType !== "json" ||
    events.some((e) => !back.events.includes(e));
  if (mismatch) {
    await client.deleteHook(c.owner, c.repo, id).catch(() => {});
    throw new DomainError(
      "unavailable",
      "forge_error",
      `${c.forgeUrl} (${c.owner}/${c.repo}) did not keep the new webhook as created; nothing changed`,
    );
  }
  return { id, warning: await removeOldHook(deps, client, c) };
}

async function removeOldHook(
  deps: ForgeDeps,
  client: ForgeClient,
  c: Connection,
): Promise<string | undefined> {
  try {
    await client.deleteHook(c.owner, c.repo, c.webhookId!);
    return undefined;
  } catch (e) {
    deps.log.warn("could not remove the old webhook after rotation", {
      connection_id: c.id,
      webhook_id: c.webhookId,
      error: e,
    });
    return `could not remove the old webhook ${c.webhookId} (${
      e instanceof Error ? e.message : "error"
    }); remove it by hand at ${hooksPage(c)}: after the overlap its deliveries are refused`;
  }
}

const hooksPage = (c: Connection) => `${c.forgeUrl}/${c.owner}/${c.repo}/settings/hooks`;

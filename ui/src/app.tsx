/** The shell: header (navigation, who is signed in, sign out) and the screen for the current path. */

import { useEffect, useRef } from "preact/hooks";
import { focusHeadingSoon } from "./focus.ts";
import { Link } from "./components.tsx";
import { place } from "./router.ts";
import { displayName, loadMe, me, signOut } from "./session.ts";
import { SignIn } from "./screens/signin.tsx";
import { Overview } from "./screens/overview.tsx";
import { DeploymentView } from "./screens/deployment.tsx";
import { History } from "./screens/history.tsx";
import { Tokens } from "./screens/tokens.tsx";
import { Repositories } from "./screens/repositories.tsx";
import { Audit } from "./screens/audit.tsx";
import { Fleet } from "./screens/fleet.tsx";
import { NodeView } from "./screens/node.tsx";
import { readableUrl } from "./url.ts";

const NAV = [
  { href: "/", label: "Overview" },
  { href: "/deployments", label: "History" },
  { href: "/fleet", label: "Fleet" },
  { href: "/tokens", label: "Tokens" },
  { href: "/repositories", label: "Repositories" },
  { href: "/audit", label: "Audit" },
];

export function App() {
  const { path } = place.value;
  const signingIn = path === "/signin";
  useEffect(() => {
    if (!signingIn && me.value === undefined) loadMe();
  }, [signingIn]);
  // After a route change (not the first load: Tab must still reach the skip link first),
  // focus goes to the new screen's heading, so a screen reader says where the user now is.
  const loaded = useRef(false);
  useEffect(() => {
    if (!loaded.current) {
      loaded.current = true;
      return;
    }
    const main = document.getElementById("main");
    return main ? focusHeadingSoon(main) : undefined;
  }, [path]);
  useEffect(() => {
    const screen = NAV.find((n) => n.href === path)?.label ?? (signingIn ? "Sign in" : "");
    document.title = screen ? `${screen} · despacito` : "despacito";
  }, [path]);

  if (signingIn) return <SignIn />;
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <Header path={path} />
      <main id="main" tabIndex={-1}>{me.value ? <Screen path={path} /> : null}</main>
    </>
  );
}

function Header({ path }: { path: string }) {
  const who = me.value;
  const section = (href: string) =>
    href === "/" ? path === "/" : path === href || path.startsWith(href + "/");
  return (
    <header class="top">
      <Link href="/" class="brand">despacito</Link>
      <nav aria-label="Main">
        {NAV.map((n) => <Link key={n.href} href={n.href} current={section(n.href)}>{n.label}
        </Link>)}
      </nav>
      <div class="who">
        {who && <span class="user" title={displayName(who)}>{displayName(who)}</span>}
        {who?.kind === "session" && (
          <button type="button" class="small" onClick={() => signOut()}>Sign out</button>
        )}
      </div>
    </header>
  );
}

function Screen({ path }: { path: string }) {
  if (path === "/") return <Overview />;
  if (path === "/deployments") return <History />;
  const m = /^\/deployments\/([^/]+)$/.exec(path);
  if (m) return <DeploymentView id={decodeURIComponent(m[1])} />;
  if (path === "/fleet") return <Fleet />;
  const node = /^\/fleet\/([^/]+)$/.exec(path);
  if (node) return <NodeView node={readableUrl(node[1])} />;
  if (path === "/tokens") return <Tokens />;
  if (path === "/repositories") return <Repositories />;
  if (path === "/audit") return <Audit />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link href="/">Go to the overview</Link>.
      </p>
    </section>
  );
}

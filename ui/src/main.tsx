/**
 * Entry point of the operator's web UI: starts the router and the clock and
 * renders the app. Built by src/build/bundle_ui.ts into ui/dist.
 */

import { render } from "preact";
import { App } from "./app.tsx";
import { startClock } from "./components.tsx";
import { startRouter } from "./router.ts";

startRouter();
startClock();
render(<App />, document.getElementById("app")!);

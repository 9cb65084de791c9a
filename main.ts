// despacito: argv → command. Everything else lives in src/.
import { main } from "./src/cli/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));

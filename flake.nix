# despacito as a Nix flake: the package (nix/package.nix: offline build from
# a fixed-output derivation of the npm dependencies), an overlay providing
# it, the NixOS module (nix/module.nix, which takes its default package from
# the overlay), a development shell, a formatter and checks.
# The tests here parse every Nix file, evaluate the module with the real
# nixpkgs lib and simulate the package's build offline; the VM check below
# needs a machine with KVM and nixpkgs and has not run on the test machine.
{
  description = "despacito: continuous delivery for NixOS fleets (Forgejo -> flake.lock -> colmena apply)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems
        (system: f (nixpkgs.legacyPackages.${system}.extend self.overlays.default));
      version = (builtins.fromJSON (builtins.readFile ./deno.json)).version;
      commit = self.shortRev or self.dirtyShortRev or "unknown";
    in
    {
      overlays.default = final: _prev: {
        despacito = final.callPackage ./nix/package.nix { inherit version commit; };
      };

      packages = forAllSystems (pkgs: {
        inherit (pkgs) despacito;
        default = pkgs.despacito;
      });

      nixosModules.default = {
        imports = [ ./nix/module.nix ];
        nixpkgs.overlays = [ self.overlays.default ];
      };

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [ deno nodejs postgresql git nix caddy colmena chromium ];
          shellHook = ''
            echo "despacito dev shell: deno task start | bash .ci/test"
          '';
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt);

      checks = forAllSystems (pkgs:
        let
          fleetFlake = pkgs.writeText "fleet-flake.nix" ''
            {
              inputs.app = { url = "git+file:///srv/app"; flake = false; };
              outputs = _: { };
            }
          '';
        in
        {
        package = pkgs.despacito;
        # The module on a VM: PostgreSQL, Caddy on the socket, and one
        # deployment through a stub colmena that records its arguments.
        module = pkgs.testers.runNixOSTest {
          name = "despacito-module";
          nodes.machine = { pkgs, ... }: {
            imports = [ self.nixosModules.default ];
            services.despacito = {
              enable = true;
              database.createLocally = true;
              colmenaPackage = pkgs.writeShellScriptBin "colmena" ''
                echo "$*" >> /var/lib/despacito/colmena.log
              '';
              settings = {
                DESPACITO_BASE_URL = "http://machine";
                DESPACITO_FLAKE_REF_SCHEMES = "git+file";
              };
            };
            services.caddy = {
              enable = true;
              virtualHosts.":80".extraConfig = "reverse_proxy unix//run/despacito/http.sock";
            };
            environment.systemPackages = [ pkgs.git pkgs.curl pkgs.jq ];
            nix.settings.experimental-features = [ "nix-command" "flakes" ];
          };
          testScript = ''
            machine.wait_for_unit("postgresql.target")
            machine.wait_for_unit("despacito.service")
            machine.wait_for_unit("caddy.service")
            machine.wait_until_succeeds("curl -sf http://localhost/health/ready")
            machine.succeed("test -S /run/despacito/http.sock")

            # A package repository with a tag, and the fleet flake that pins it, owned by despacito.
            machine.succeed(
              "install -d -o despacito -g despacito /srv/app",
              "runuser -u despacito -- sh -ec '"
              + "cd /srv/app && git init -q -b main && echo 1 > v && git add v"
              + " && git -c user.name=t -c user.email=t@t commit -qm v1 && git tag v1"
              + " && mkdir -p /var/lib/despacito/flake && cd /var/lib/despacito/flake && git init -q -b main"
              + " && cp ${fleetFlake} flake.nix"
              + " && nix flake lock && git add -A && git -c user.name=t -c user.email=t@t commit -qm init'",
            )

            token = machine.succeed("despacito token create --description vm").strip()
            body = machine.succeed(
              "jq -nc --arg v v1 '{package: \"app\", version: $v, "
              + "nix_store_path: \"/nix/store/0c4dqnjxq6kzx2m1d4x6rwx2hqnp3v3q-app-1\", "
              + "flake_ref: \"git+file:///srv/app?ref=refs/tags/v1\"}'"
            ).strip()
            out = machine.succeed(
              f"curl --fail-with-body -sS -X POST http://localhost/webhook -H 'Authorization: Bearer {token}' "
              + f"-H 'Content-Type: application/json' -d '{body}'"
            )
            assert '"deployed"' in out, out
            machine.succeed("grep -q apply /var/lib/despacito/colmena.log")

            # A switch does not restart it (restartIfChanged = false); a stop drains and exits cleanly.
            machine.succeed("systemctl stop despacito")
            machine.fail("test -S /run/despacito/http.sock")
          '';
        };
      });
    };
}

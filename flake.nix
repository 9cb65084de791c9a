# despacito as a Nix flake: the package (deno compile with nixpkgs' denort,
# npm dependencies as a fixed-output derivation, version and commit
# injected), a development shell, a NixOS module and checks.
# `nix-instantiate --parse flake.nix` runs in the test suite; the build
# itself needs a Nix with network for the npm dependencies (see README).
{
  description = "despacito: continuous delivery for NixOS fleets (Forgejo -> flake.lock -> colmena apply)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      version = (builtins.fromJSON (builtins.readFile ./deno.json)).version;
      commit = self.shortRev or self.dirtyShortRev or "unknown";
    in
    {
      packages = forAllSystems (pkgs: rec {
        despacito = pkgs.callPackage ./nix/package.nix {
          inherit version commit;
          src = self;
          # Update after changing deno.lock: build once, copy the "got:" hash here.
          npmDepsHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        };
        default = despacito;
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [ deno nodejs postgresql git nix caddy colmena chromium ];
          shellHook = ''
            echo "despacito dev shell: deno task start | bash .ci/test"
          '';
        };
      });

      nixosModules.default = { pkgs, lib, ... }: {
        imports = [ ./nix/module.nix ];
        services.despacito.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };

      checks = forAllSystems (pkgs: {
        package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        # The module on a VM: the service starts on its socket and answers healthcheck.
        module = pkgs.testers.runNixOSTest {
          name = "despacito-module";
          nodes.machine = { ... }: {
            imports = [ self.nixosModules.default ];
            services.despacito.enable = true;
          };
          testScript = ''
            machine.wait_for_unit("despacito.service")
            machine.wait_until_succeeds(
              "DESPACITO_LISTEN_SOCKET=/run/despacito/http.sock "
              + "${self.packages.${pkgs.stdenv.hostPlatform.system}.default}/bin/despacito healthcheck"
            )
            machine.succeed("test -S /run/despacito/http.sock")
          '';
        };
      });
    };
}

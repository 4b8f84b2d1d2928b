# services.storefront: serve this machine's Nix store as a signed binary cache.
#
#   imports = [ storefront.nixosModules.default ];   # or ./nixos-module.nix
#   services.storefront.enable = true;
#
# The file is a module with a `__functor`: the module system calls it like any other module, and
# the parts that need nothing from nixpkgs (the default settings, the systemd units, the
# assertions) stay reachable as plain attributes. storefront's tests evaluate those with
# `nix-instantiate --eval` on machines that cannot fetch nixpkgs, and the module below uses the
# very same functions, so what the tests see is what a NixOS system gets.
let
  # ---- string helpers, builtins only ----
  hasPrefix = prefix: text: builtins.substring 0 (builtins.stringLength prefix) text == prefix;
  dropPrefix =
    prefix: text:
    if hasPrefix prefix text then
      builtins.substring (builtins.stringLength prefix) (builtins.stringLength text) text
    else
      text;
  joinWords = builtins.concatStringsSep " ";

  # An attribute set without its null values and the sections left empty by removing them:
  # options left unset are not written to the TOML file, so storefront applies its own defaults.
  withoutNulls =
    attrs:
    let
      cleaned = builtins.mapAttrs (_: value: if builtins.isAttrs value then withoutNulls value else value) attrs;
      unset = builtins.filter (
        name: cleaned.${name} == null || cleaned.${name} == { }
      ) (builtins.attrNames cleaned);
    in
    builtins.removeAttrs cleaned unset;

  # ---- what the module decides, builtins only ----
  pure = rec {
    # What an enabled module with nothing else set writes to storefront.toml. Everything else is
    # left to storefront's own defaults (README, "Configuration").
    defaultSettings = {
      bind = "[::]:5000";
      priority = 30;
      enable_compression = true;
    };

    # The TOML file's content: the settings with unset (null) options dropped.
    fileSettings = withoutNulls;

    isUnixBind = bind: hasPrefix "unix:" bind;

    # `unix:/run/x.sock` and `unix:///run/x.sock` both name /run/x.sock, as in the daemon.
    unixSocketPath =
      bind:
      let
        path = dropPrefix "unix:" bind;
      in
      if hasPrefix "///" path then dropPrefix "//" path else path;

    # `host:port` or `[v6-address]:port` as { host, port }, or null when it is neither.
    tcpAddress =
      bind:
      let
        v6 = builtins.match "\\[([0-9a-fA-F:.]+)]:([0-9]{1,5})" bind;
        other = builtins.match "([^:]+):([0-9]{1,5})" bind;
        parts = if v6 != null then v6 else other;
      in
      if parts == null then
        null
      else
        {
          host = builtins.elemAt parts 0;
          port = builtins.fromJSON (builtins.elemAt parts 1);
        };

    # systemd's ListenStream= takes IP addresses only; it does not resolve host names.
    isIpAddress = host: builtins.match "[0-9a-fA-F:.]*:[0-9a-fA-F:.]*|[0-9]{1,3}(\\.[0-9]{1,3}){3}" host != null;

    listenStream = bind: if isUnixBind bind then unixSocketPath bind else bind;

    # Where storefront keeps its GC roots: `[gcroots] dir`, else the daemon's own default,
    # <real_nix_store>/../var/nix/gcroots/storefront.
    gcrootsDir =
      settings:
      settings.gcroots.dir or "${
        dirOf (settings.real_nix_store or settings.virtual_nix_store or "/nix/store")
      }/var/nix/gcroots/storefront";

    # Nix's database, as the daemon finds it.
    databasePath =
      settings:
      settings.nix_db_path or "${
        dirOf (settings.real_nix_store or settings.virtual_nix_store or "/nix/store")
      }/var/nix/db/db.sqlite";

    # The `metrics` option as `[metrics]` settings: true keeps storefront's default (/metrics on
    # the cache's own listener), an address gives metrics a listener of their own, false is off.
    metricsSettings =
      metrics:
      if metrics == true then
        { }
      else if metrics == false then
        { enable = false; }
      else
        { bind = metrics; };

    # Files handed to the service by systemd (LoadCredential), readable only by it.
    credentials =
      prefix: paths:
      builtins.genList (i: {
        id = "${prefix}-${toString i}";
        path = builtins.elemAt paths i;
      }) (builtins.length paths);

    # Where systemd puts the service's credentials ($CREDENTIALS_DIRECTORY): the config file is
    # written before the service runs, so it names the directory itself.
    credentialsDirectory = "/run/credentials/storefront.service";

    # The `tokens` option: each secret file handed over as credential `token-<name>`...
    tokenCredentials = tokens: map (token: { id = "token-${token.name}"; path = token.secretFile; }) tokens;

    # ... and named by `[[access.tokens]]` in the config file.
    tokenSettings =
      tokens:
      map (token: {
        inherit (token) name scopes;
        secret_path = "${credentialsDirectory}/token-${token.name}";
      }) tokens;

    # Combinations that cannot work, each with the way out.
    assertionsFor =
      cfg:
      let
        bind = cfg.settings.bind;
        tcp = tcpAddress bind;
        tls = (cfg.settings.tls_cert_path or null) != null || (cfg.settings.tls_key_path or null) != null;
        workers = cfg.settings.workers or null;
      in
      [
        {
          assertion = isUnixBind bind || (tcp != null && isIpAddress tcp.host);
          message = ''
            services.storefront.settings.bind = "${bind}": systemd opens the listening socket and
            needs `IP-address:port`, `[IPv6-address]:port` or `unix:/path` (no host names),
            e.g. "[::]:5000" or "127.0.0.1:5000".'';
        }
        {
          assertion = !(isUnixBind bind && tls);
          message = ''
            services.storefront: TLS (settings.tls_cert_path/tls_key_path) cannot be combined
            with a unix socket bind (${bind}); terminate TLS in the proxy in front of the socket,
            or bind to an `address:port`.'';
        }
        {
          assertion = !(isUnixBind bind && cfg.openFirewall);
          message = ''
            services.storefront.openFirewall opens a TCP port, but settings.bind is a unix
            socket (${bind}); set openFirewall = false, or bind to an `address:port`.'';
        }
        {
          assertion = workers == null || (builtins.isInt workers && workers >= 1);
          message = ''
            services.storefront.settings.workers = ${builtins.toJSON workers}: at least one
            worker process is needed; null uses one.'';
        }
        {
          assertion = !(builtins.isString cfg.metrics && cfg.metrics == bind);
          message = ''
            services.storefront.metrics = ${builtins.toJSON cfg.metrics} is also settings.bind; set
            metrics = true to serve /metrics on the cache's listener, or give another address.'';
        }
      ];

    # The .socket unit: systemd listens on `bind` and hands the socket to the daemon
    # (LISTEN_FDS), so the daemon needs neither privileges nor network access to listen.
    socketUnit = cfg: {
      description = "storefront Nix binary cache (listening socket)";
      wantedBy = [ "sockets.target" ];
      socketConfig.ListenStream = listenStream cfg.settings.bind;
    };

    # The .service unit. `sqlite3` is the path of SQLite's command-line shell, `kill` of kill(1).
    serviceUnit =
      {
        cfg,
        configFile,
        sqlite3,
        kill,
      }:
      let
        settings = cfg.settings;
        signKeys = credentials "sign-key" cfg.signKeyPaths;
        adminTokens = credentials "admin-token" cfg.adminTokenPaths;
        # %d is the service's credentials directory ($CREDENTIALS_DIRECTORY).
        credentialPaths = map (credential: "%d/${credential.id}");
      in
      {
        description = "storefront Nix binary cache";
        requires = [ "storefront.socket" ];
        after = [ "storefront.socket" ];
        # Started at boot rather than by the first request: the daemon also pins newly pushed
        # paths and prunes expired roots, whether or not anyone downloads.
        wantedBy = [ "multi-user.target" ];

        environment =
          (if signKeys == [ ] then { } else { SIGN_KEY_PATHS = joinWords (credentialPaths signKeys); })
          // (
            if adminTokens == [ ] then { } else { ADMIN_TOKEN_PATHS = joinWords (credentialPaths adminTokens); }
          );

        serviceConfig = {
          # Nix's database is in WAL mode, and SQLite lets a reader without write access to the
          # database's directory open it only while the -wal and -shm files exist; Nix deletes
          # them when its last connection closes. This runs as root ("+"), opens the database
          # once and keeps those files on close (persist_wal); storefront's own open connections
          # then keep Nix from deleting them while it runs.
          ExecStartPre = "+${sqlite3} ${databasePath settings} '.output /dev/null' '.filectrl persist_wal 1' 'SELECT 1 FROM ValidPaths LIMIT 1'";
          ExecStart = "${cfg.package}/bin/storefront serve --config ${configFile}";
          # `systemctl reload`: SIGHUP makes storefront read its key and token files again, no
          # connection dropped. The credentials below are copies that systemd makes at start, so
          # a replaced key file needs a restart (see the README).
          ExecReload = "${kill} -HUP $MAINPID";

          Type = "notify";
          # READY=1 and WATCHDOG=1 may come from a helper process (Node has no datagram unix
          # sockets of its own), not only from the main process.
          NotifyAccess = "all";
          WatchdogSec = 30;
          Restart = "on-failure";
          RestartSec = 2;
          # Running downloads get `shutdown_timeout` seconds after SIGTERM; systemd waits a little
          # longer before it kills.
          TimeoutStopSec = (settings.shutdown_timeout or 30) + 15;
          LimitNOFILE = 65536;

          # A static user, so that the GC roots it makes stay its own across restarts.
          User = "storefront";
          Group = "storefront";
          LoadCredential = map (credential: "${credential.id}:${credential.path}") (
            signKeys ++ adminTokens ++ tokenCredentials (cfg.tokens or [ ])
          );

          # Writable: only the roots directory and the NAR cache (/var/cache/storefront,
          # $CACHE_DIRECTORY, where `[nar_cache] path` defaults to). The store and Nix's database
          # stay readable, as the rest of the file system, and read-only (ProtectSystem=strict).
          CacheDirectory = "storefront";
          CacheDirectoryMode = "0700";
          # /var/lib/storefront ($STATE_DIRECTORY), `state_dir`'s default: uploads are staged
          # there (`[push]`), and state.sqlite keeps last uses, the store's history, pushes and
          # the runs of `[gc]`'s budget.
          StateDirectory = "storefront";
          StateDirectoryMode = "0700";
          ReadWritePaths = [ (gcrootsDir settings) ];
          UMask = "0077";

          ProtectSystem = "strict";
          ProtectHome = true;
          PrivateTmp = true;
          PrivateDevices = true;
          PrivateMounts = true;
          # The listening socket comes from the host's network (socket activation); the daemon
          # needs a network of its own only when metrics have their own listener.
          PrivateNetwork = !(builtins.isString cfg.metrics);
          RestrictAddressFamilies = [
            "AF_UNIX"
            "AF_INET"
            "AF_INET6"
          ];
          NoNewPrivileges = true;
          CapabilityBoundingSet = "";
          AmbientCapabilities = "";
          # Without "~@resources" (harmonia has it): Node raises its open-file limit and sets
          # thread priorities with calls from that group. A call outside the filter fails with
          # EPERM instead of killing the daemon.
          SystemCallFilter = [
            "@system-service"
            "~@privileged"
          ];
          SystemCallErrorNumber = "EPERM";
          SystemCallArchitectures = "native";
          ProtectKernelTunables = true;
          ProtectKernelModules = true;
          ProtectKernelLogs = true;
          ProtectControlGroups = true;
          ProtectClock = true;
          ProtectHostname = true;
          # Without ProcSubset=pid: Node sizes its heap from /proc/meminfo.
          ProtectProc = "invisible";
          RestrictNamespaces = true;
          RestrictRealtime = true;
          RestrictSUIDSGID = true;
          RemoveIPC = true;
          LockPersonality = true;
          # Off: V8's JIT compiler needs pages that are writable and executable.
          MemoryDenyWriteExecute = false;
        };
      };

    # Users the Nix daemon trusts: with `[push] enable`, storefront's, so that the daemon takes
    # pushed paths signed by keys that only `[push] trusted_keys` lists (or none, for a cache
    # without trusted_keys) and build logs (`nix store copy-log`), which it takes from trusted
    # users only.
    trustedUsers = settings: if (settings.push.enable or false) then [ "storefront" ] else [ ];

    # The roots directory, owned by storefront so that it can add and prune roots there.
    tmpfilesRules = settings: [ "d ${gcrootsDir settings} 0755 storefront storefront - -" ];

    firewallPorts =
      cfg:
      let
        tcp = tcpAddress cfg.settings.bind;
      in
      if cfg.openFirewall && tcp != null then [ tcp.port ] else [ ];
  };

  module =
    {
      config,
      lib,
      pkgs,
      ...
    }:
    let
      cfg = config.services.storefront;
      format = pkgs.formats.toml { };
      configFile = format.generate "storefront.toml" (pure.fileSettings cfg.settings);
      inherit (lib)
        literalExpression
        literalMD
        mkOption
        types
        ;
      # Unset by default, so that storefront's own default applies; `daemonDefault` (Markdown)
      # says what that is.
      nullable =
        type: daemonDefault: attrs:
        mkOption (
          {
            type = types.nullOr type;
            default = null;
            defaultText = literalMD "`null`: storefront's default, ${daemonDefault}";
          }
          // attrs
        );
      # `storefront` on the PATH, reading the service's config, so that `storefront pin` and
      # `storefront pins` act on the same store and roots as the daemon.
      cli = pkgs.writeShellScriptBin "storefront" ''
        export CONFIG_FILE="''${CONFIG_FILE:-${configFile}}"
        exec ${cfg.package}/bin/storefront "$@"
      '';
    in
    {
      options.services.storefront = {
        enable = lib.mkEnableOption "storefront, a binary cache serving this machine's Nix store";

        package = mkOption {
          type = types.package;
          default = pkgs.storefront;
          defaultText = literalExpression "storefront.packages.\${system}.default";
          description = ''
            The storefront package. The flake's `nixosModules.default` sets it to the flake's own
            package; with `./nixos-module.nix` alone, add the flake's `overlays.default`.
          '';
        };

        settings = mkOption {
          description = ''
            storefront's config file, written as TOML. Any key of storefront's config table
            (README, "Configuration") may be set; the common ones are typed options here.
            Keys left unset take storefront's defaults. Do not put secret key files here
            (they would have to be readable by the storefront user): use {option}`signKeyPaths`.
          '';
          default = { };
          example = literalExpression ''
            {
              bind = "127.0.0.1:5000";
              priority = 40;
              nar_cache.max_size = "50G";
              gcroots.pin_new_paths = true;
            }
          '';
          type = types.submodule {
            freeformType = format.type;
            options = {
              bind = mkOption {
                type = types.str;
                default = pure.defaultSettings.bind;
                example = "unix:/run/storefront/socket";
                description = ''
                  Where to listen: `address:port`, `[IPv6-address]:port` or `unix:/path`.
                  systemd opens this socket (`storefront.socket`) and hands it to the daemon,
                  so the address must be an IP address, not a host name.
                '';
              };
              priority = mkOption {
                type = types.ints.unsigned;
                default = pure.defaultSettings.priority;
                example = 41;
                description = "Priority in `/nix-cache-info`; lower wins (cache.nixos.org has 40).";
              };
              workers = nullable types.int "one process" {
                example = 4;
                description = "Processes serving requests (at least 1).";
              };
              enable_compression = mkOption {
                type = types.bool;
                default = pure.defaultSettings.enable_compression;
                example = false;
                description = "Compress responses (zstd, br, gzip) when the client accepts it.";
              };
              nar_cache.max_size = nullable (types.either types.str types.ints.positive) "`\"10G\"`" {
                example = "50G";
                description = ''
                  Size limit of the on-disk cache of NAR layouts and zstd-compressed NARs
                  (under /var/cache/storefront): bytes, or a number with K, M, G or T.
                '';
              };
              gcroots.pin_new_paths = nullable types.bool "`false`" {
                example = true;
                description = ''
                  Pin the top-level paths of closures newly registered in the store (pushed with
                  `nix copy --to ssh://...`), so that they survive garbage collection for
                  `gcroots.new_path_keep_days` days.
                '';
              };
              access.public = nullable types.bool "`true`" {
                example = false;
                description = ''
                  `false`: a private cache; reading it (narinfos, NARs, everything that shows
                  the store) needs a token with the `read` scope (see {option}`tokens`), which
                  Nix clients send from a netrc file.
                '';
              };
              gcroots.new_path_keep_days = nullable types.ints.positive "`30`" {
                example = 90;
                description = "Days a pin made by `gcroots.pin_new_paths` is kept.";
              };
              gc.max_store_size = nullable (types.either types.str types.ints.unsigned) "no size budget" {
                example = "200G";
                description = ''
                  Keep the NAR bytes of all valid paths below this: bytes, or a number with K,
                  M, G or T. Over it, storefront has the Nix daemon delete dead paths (reachable
                  from no GC root, pins included), least recently downloaded or pushed first.
                '';
              };
              gc.min_free = nullable (types.either types.str types.ints.unsigned) "none" {
                example = "20G";
                description = ''
                  Keep this much free space on the store's file system, deleting dead paths as
                  for `gc.max_store_size`.
                '';
              };
              gc.interval = nullable types.ints.positive "`600`" {
                example = 300;
                description = ''
                  Seconds between checks of the budget (and samples of the store's history);
                  the budget is also checked after each push.
                '';
              };
            };
          };
        };

        signKeyPaths = mkOption {
          type = types.listOf types.path;
          default = [ ];
          example = [ "/run/secrets/storefront-signing-key" ];
          description = ''
            Secret signing keys (Nix's format, as `storefront key generate` or
            `nix-store --generate-binary-cache-key` write them); each narinfo gets one signature
            per key. systemd reads the files as root and hands them to the service
            (LoadCredential), so they can stay readable by root only. Give paths outside the Nix
            store: a Nix path literal here would copy the key into the world-readable store.
          '';
        };

        tokens = mkOption {
          type = types.listOf (
            types.submodule {
              options = {
                name = mkOption {
                  type = types.strMatching "[A-Za-z0-9._-]{1,64}";
                  example = "ci";
                  description = "The token's name: the login of the client's netrc line.";
                };
                scopes = mkOption {
                  type = types.nonEmptyListOf (
                    types.enum [
                      "read"
                      "push"
                      "pin"
                      "admin"
                    ]
                  );
                  example = [
                    "read"
                    "push"
                  ];
                  description = "What the token may do; `admin` is all three.";
                };
                secretFile = mkOption {
                  type = types.path;
                  example = "/run/secrets/storefront-ci";
                  description = ''
                    The file holding the secret (as `storefront token generate` writes it),
                    handed to the service like {option}`signKeyPaths`; outside the Nix store.
                  '';
                };
              };
            }
          );
          default = [ ];
          example = literalExpression ''
            [ { name = "ci"; scopes = [ "read" "push" ]; secretFile = "/run/secrets/storefront-ci"; } ]
          '';
          description = ''
            Access tokens (`[[access.tokens]]`), each secret file passed to the service with
            LoadCredential. With {option}`settings.access.public` = `false` reading needs one.
          '';
        };

        adminTokenPaths = mkOption {
          type = types.listOf types.path;
          default = [ ];
          example = [ "/run/secrets/storefront-admin-token" ];
          description = ''
            Files each holding an admin token: every scope (read, push, pin) with any login,
            handed over like {option}`signKeyPaths`.
          '';
        };

        openFirewall = mkOption {
          type = types.bool;
          default = false;
          description = "Open the TCP port of `settings.bind` in the firewall (never the metrics port).";
        };

        metrics = mkOption {
          type = types.either types.bool types.str;
          default = true;
          example = "127.0.0.1:9180";
          description = ''
            Prometheus metrics at `/metrics`: `true` serves them on the cache's own listener, an
            `address:port` on a listener of their own (not opened by {option}`openFirewall`),
            `false` turns them off. Written to `settings.metrics`.
          '';
        };
      };

      config = lib.mkIf cfg.enable {
        assertions = pure.assertionsFor cfg;

        services.storefront.settings.metrics = builtins.mapAttrs (_: lib.mkDefault) (
          pure.metricsSettings cfg.metrics
        );
        services.storefront.settings.access.tokens = lib.mkIf (cfg.tokens != [ ]) (
          pure.tokenSettings cfg.tokens
        );

        users.users.storefront = {
          isSystemUser = true;
          group = "storefront";
          description = "storefront binary cache";
        };
        users.groups.storefront = { };

        systemd.tmpfiles.rules = pure.tmpfilesRules cfg.settings;
        systemd.sockets.storefront = pure.socketUnit cfg;
        systemd.services.storefront = pure.serviceUnit {
          inherit cfg configFile;
          sqlite3 = "${lib.getBin pkgs.sqlite}/bin/sqlite3";
          kill = "${pkgs.coreutils}/bin/kill";
        }
        // {
          # Uploads compressed with xz (Nix's default) are decoded by xz-utils' `xz`.
          path = lib.optional (cfg.settings.push.enable or false) pkgs.xz;
        };

        nix.settings.trusted-users = pure.trustedUsers cfg.settings;

        networking.firewall.allowedTCPPorts = pure.firewallPorts cfg;
        environment.systemPackages = [ cli ];
      };
    };
in
pure // { __functor = _: module; }

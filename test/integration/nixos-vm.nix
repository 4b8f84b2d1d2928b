# The NixOS VM test behind `nix flake check` (checks.<system>.vm): a server runs
# services.storefront with a signing key; a client copies a closure from it with signature
# checking on; a path pinned with `storefront pin` survives nix-collect-garbage on the server.
# Run it with `nix build .#checks.x86_64-linux.vm -L` (needs KVM for a reasonable speed).
{ pkgs, module }:
let
  # A committed key pair made for this test only (`storefront key generate storefront-vm-test-1`).
  publicKey = pkgs.lib.fileContents ../fixtures/keys/vm-test-1.public;
  # Some other cache's key: a client trusting only this must refuse storefront's narinfos.
  otherPublicKey = "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=";
  closure = pkgs.hello;
in
pkgs.testers.runNixOSTest {
  name = "storefront";

  nodes.server = {
    imports = [ module ];
    services.storefront = {
      enable = true;
      openFirewall = true;
      # A store path, so the test needs no secret on the host; never do this with a real key.
      signKeyPaths = [ "${../fixtures/keys/vm-test-1.secret}" ];
    };
    # In the server's store and database, not in the client's.
    system.extraDependencies = [ closure ];
    virtualisation.writableStore = true;
  };

  nodes.client = { };

  testScript = ''
    import shlex

    def copy_from_server(path: str, trusted_key: str, to: str) -> str:
        return (
            "nix --extra-experimental-features nix-command copy"
            f" --from http://server:5000 --to {to}"
            f" --option trusted-public-keys {shlex.quote(trusted_key)} {path}"
        )

    start_all()
    server.wait_for_unit("storefront.socket")
    server.wait_for_unit("storefront.service")
    server.succeed("storefront serve --check-config")
    client.wait_until_succeeds("curl -fsS http://server:5000/nix-cache-info")

    with subtest("a client copies a closure, signatures checked"):
        client.succeed(copy_from_server("${closure}", "${publicKey}", "/root/copy"))
        sigs = client.succeed("nix --extra-experimental-features nix-command path-info --store /root/copy --sigs ${closure}")
        assert "storefront-vm-test-1:" in sigs, sigs
        client.fail(copy_from_server("${closure}", "${otherPublicKey}", "/root/refused"))

    with subtest("a pinned path survives garbage collection"):
        pinned = server.succeed("echo pinned > /tmp/pinned && nix-store --add /tmp/pinned").strip()
        loose = server.succeed("echo loose > /tmp/loose && nix-store --add /tmp/loose").strip()
        server.succeed(f"runuser -u storefront -- storefront pin vm-test {pinned} --keep-forever")
        server.succeed("nix-collect-garbage")
        server.succeed(f"test -e {pinned}")
        server.fail(f"test -e {loose}")
        client.succeed(copy_from_server(pinned, "${publicKey}", "/root/copy"))

    with subtest("systemctl reload reloads the keys in the same process"):
        main_pid = server.succeed("systemctl show -p MainPID --value storefront.service").strip()
        server.succeed("systemctl reload storefront.service")
        server.wait_until_succeeds("journalctl -u storefront.service | grep -q 'reloaded signing keys'")
        assert server.succeed("systemctl show -p MainPID --value storefront.service").strip() == main_pid
        client.succeed(copy_from_server("${closure}", "${publicKey}", "/root/after-reload"))

    with subtest("the daemon restarts cleanly and keeps its roots"):
        server.succeed("systemctl restart storefront.service")
        server.wait_for_unit("storefront.service")
        server.succeed("storefront pins | grep -q vm-test")
  '';
}

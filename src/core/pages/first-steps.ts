// What a new operator must do next, said the same way by `serve` at start and by the landing
// page: make a signing key (without one, Nix refuses every path built on this machine for lack
// of a signature), and put a first path into an empty store.

/** Where the README's quick start puts the key files. */
export const SECRET_KEY_FILE = "/etc/storefront/secret";
const PUBLIC_KEY_FILE = "/etc/storefront/public";

export interface KeySetup {
  /** The one command that makes a key. */
  readonly command: string;
  /** The config line that makes `serve` sign with it. */
  readonly configLine: string;
}

/**
 * `host` names the key, as Nix's own keys are named (`cache.nixos.org-1`); a name a key cannot
 * have (a `:` ends a key's name, as in an IPv6 address) gives way to a placeholder.
 */
export function keySetup(host: string): KeySetup {
  const name = /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(host) ? host : "cache.example.org";
  return {
    command: `storefront key generate ${name}-1 --secret ${SECRET_KEY_FILE} --public ${PUBLIC_KEY_FILE}`,
    configLine: `sign_key_paths = [${JSON.stringify(SECRET_KEY_FILE)}]`,
  };
}

/**
 * The command that adds a file to the store `serve` reads. A chroot store (files under
 * `<root>/nix/store`, paths named `/nix/store/...`) is named by its root.
 */
export function firstPathCommand(virtualStore: string, realStore: string): string {
  if (realStore === virtualStore || !realStore.endsWith(virtualStore)) {
    return "nix-store --add FILE";
  }
  return `nix-store --store ${realStore.slice(0, -virtualStore.length)} --add FILE`;
}

// One lint command for the whole tree: `npm run lint`.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "bench/work/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      // `import { type A }` stays an import of the module once types are stripped; `import type`
      // goes away with them.
      "@typescript-eslint/no-import-type-side-effects": "error",
    },
  },
  {
    // The server's own code; tests and benchmarks may import node:http as they like.
    files: ["src/**/*.ts"],
    rules: {
      // An ES import of node:http reads every export, and its lazy WebSocket, CloseEvent and
      // MessageEvent load undici: ~16 MiB more in every thread that serves (src/http/listen.ts).
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "node:http",
              allowTypeImports: true,
              message:
                'as an ES module node:http loads undici: use `import type`, or process.getBuiltinModule("node:http")',
            },
          ],
        },
      ],
    },
  },
  { files: ["**/*.js"], ...tseslint.configs.disableTypeChecked },
);

import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "test/fixtures/**", ".tmp/**", "bench-results/**"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "no-console": "error",
      "no-empty": ["error", { allowEmptyCatch: false }],
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      // wrtc serializes libwebrtc's local description on Node's thread while libwebrtc's thread writes the candidates it
      // gathers into it: a SIGSEGV (src/rtc/local-description.ts). The remote one is written only while Node's thread
      // waits (wrtc adds a remote candidate with a blocking call), so reading it is safe.
      "no-restricted-properties": [
        "error",
        ...["localDescription", "currentLocalDescription", "pendingLocalDescription"].map((property) => ({
          property,
          message:
            "wrtc's getter races libwebrtc's thread and can crash the process: use PeerLink.takeLocalSdp(), followLocalDescription() or the SDP handed to setLocalDescription",
        })),
      ],
    },
  },
  {
    // A call's local description is set through PeerLink.setLocal() (FollowedLocalDescription), so that its SDP follows it.
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.property.name='setLocalDescription']",
          message: "set a call's local description with PeerLink.setLocal(): takeLocalSdp() follows only what goes through it",
        },
      ],
    },
  },
  {
    files: ["eslint.config.js", "vitest.config.ts"],
    extends: [tseslint.configs.disableTypeChecked],
  },
);

// Files Bun embeds through import attributes (TypeScript 5.9 cannot type `with { type }` imports by itself;
// bun-types only does so for TypeScript ≥ 7.1). Used so that `bun build --compile` carries them in the binary.
declare module '*.sql' { const text: string; export default text } //            with { type: 'text' }: contents
declare module '*.eta' { const text: string; export default text } //            with { type: 'text' }: contents
declare module '*/pages/style.css' { const text: string; export default text } // with { type: 'text' }: contents
declare module 'swagger-ui-dist/swagger-ui-bundle.js' { const path: string; export default path } // type: 'file'
declare module 'swagger-ui-dist/swagger-ui.css' { const path: string; export default path } //       type: 'file'

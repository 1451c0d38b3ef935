/** Stylesheets are bundled by Vite; to TypeScript they are side-effect imports. */
declare module '*.css';

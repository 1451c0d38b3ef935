/** The widget's styles, inside its shadow root: the site's CSS cannot reach in, ours cannot leak out. */
export const STYLES = `
:host{all:initial}
.root{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1b1e;display:flex;flex-direction:column;align-items:flex-end;gap:12px}
button{font:inherit;cursor:pointer;border-radius:8px;border:1px solid transparent;padding:8px 14px}
button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid #1a1b1e;outline-offset:2px}
.launcher,.primary{background:var(--brand,#1864ab);color:var(--on-brand,#fff);font-weight:600}
.launcher{border-radius:24px;padding:12px 20px;box-shadow:0 4px 14px rgba(0,0,0,.25)}
.quiet{background:#fff;color:#1a1b1e;border-color:#868e96;padding:6px 10px;font-size:14px}
.panel{width:370px;max-width:calc(100vw - 40px);height:560px;max-height:calc(100vh - 110px);background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);display:flex;flex-direction:column;overflow:hidden}
.panel[hidden]{display:none}
header{display:flex;align-items:center;gap:10px;padding:12px 14px;background:var(--brand,#1864ab);color:var(--on-brand,#fff)}
.who{flex:1;min-width:0}
h2{font-size:16px;margin:0}
.status{margin:0;font-size:13px}
.avatar{width:36px;height:36px;border-radius:50%;object-fit:cover;background:#fff}
.avatar[hidden]{display:none}
.close{background:transparent;color:inherit;font-size:22px;line-height:1;padding:4px 10px}
.body{flex:1;display:flex;flex-direction:column;min-height:0}
.form{padding:16px;display:flex;flex-direction:column;gap:12px;overflow:auto}
.field{display:flex;flex-direction:column;gap:4px}
label{font-size:14px;font-weight:600}
input,textarea{font:inherit;color:inherit;border:1px solid #868e96;border-radius:8px;padding:8px;resize:vertical;background:#fff}
.notice{margin:0}
.notice:empty,.typing:empty,.connection:empty{display:none}
.log{margin:0;padding:12px;flex:1;overflow-y:auto;display:flex;flex-direction:column;gap:8px}
.msg{max-width:85%;padding:8px 12px;border-radius:12px;background:#f1f3f5}
.msg.visitor{align-self:flex-end;background:#e7f5ff}
.msg.pending{opacity:.8}
.msg p{margin:2px 0 0;white-space:pre-wrap;overflow-wrap:anywhere}
.meta{display:block;font-size:12px;color:#495057}
.files{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-direction:column;gap:4px}
.file{background:#fff;color:#1a1b1e;border-color:#868e96;padding:4px 10px;font-size:14px;text-align:left;overflow-wrap:anywhere}
.typing,.connection{margin:0;padding:4px 14px;font-size:13px;color:#495057}
.composer{border-top:1px solid #dee2e6;padding:10px 12px;display:flex;flex-direction:column;gap:8px}
.row{display:flex;flex-wrap:wrap;gap:6px;align-items:center}
.row button{white-space:nowrap}
.row .primary{margin-left:auto}
[hidden]{display:none}
@media (max-width:480px){.root{right:8px;bottom:8px}.panel{max-width:calc(100vw - 16px)}}
`;

"""The report's look: one style sheet inlined in the page, so the file stands alone."""

CSS = """
body { font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1f2933;
       background: #f5f7fa; margin: 0; }
main { max-width: 1120px; margin: 0 auto; padding: 24px; }
header h1 { margin: 0; font-size: 26px; }
.sub, .muted, .caption { color: #616e7c; }
.caption { font-size: 13px; }
nav a { margin-right: 14px; color: #2563eb; text-decoration: none; }
section { background: #fff; border-radius: 8px; padding: 16px 22px; margin: 18px 0;
          box-shadow: 0 1px 3px rgba(0, 0, 0, .08); }
h2 { margin-top: 4px; border-bottom: 1px solid #e4e7eb; padding-bottom: 6px; }
h3 { font-size: 16px; margin: 16px 0 6px; }
table { border-collapse: collapse; font-size: 14px; margin: 6px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: left;
         vertical-align: top; }
thead th { background: #f0f4f8; }
table.kv th { font-weight: 600; color: #3e4c59; }
table.confusion td { text-align: right; }
.row { display: flex; flex-wrap: wrap; gap: 32px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 12px; }
figure { margin: 0; }
img { max-width: 100%; height: auto; }
.note { background: #fffbea; border-left: 4px solid #f0b429; padding: 8px 12px; }
"""

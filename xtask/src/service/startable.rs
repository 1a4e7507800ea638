//! Whether an image can start its app, asked without starting it: real
//! apps read their settings at import, so the app is not imported. The
//! image's own Python compiles the app's sources and looks up the modules
//! they import, and uvicorn, in the image.

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::contract::is_app_reference;
use crate::engine::{Engine, ImageConfig};

/// Run in the image, in its working directory, with `MODULE:ATTR` as its
/// argument, and `env` after it when only UVICORN_APP names the app:
/// prints the problems found, as JSON. Writes nothing.
const CHECK: &str = r#"
import ast, importlib.util, json, os, re, sys
app = sys.argv[1] if len(sys.argv) > 1 else ""
here = os.getcwd()
problems = []
if importlib.util.find_spec("uvicorn") is None:
    problems.append("uvicorn, the ASGI server, is not installed in the image: add it to libraries.list")
elif sys.argv[2:] == ["env"]:
    from importlib.metadata import version
    found = version("uvicorn")
    if tuple(int(part) for part in re.findall(r"\d+", found)[:2]) < (0, 24):
        problems.append(f"uvicorn {found} does not read UVICORN_APP, which names the app to the image's command "
                        "(uvicorn 0.24 and later do): pin uvicorn>=0.24 in libraries.list")
def parse(path):
    try:
        with open(path, "rb") as source:
            return ast.parse(source.read(), path)
    except SyntaxError as error:
        problems.append(f"{os.path.relpath(path, here)} line {error.lineno}: {error.msg}")
sources = [] if here == "/" else [os.path.join(top, name) for top, dirs, files in os.walk(here)
                                  for name in files if name.endswith(".py")]
trees = {path: parse(path) for path in sources}
if app:
    module, _, attr = app.partition(":")
    # Where `import module` would find it, without importing it: a
    # package's __init__ may read settings as well.
    bases = [os.path.join(base or here, *module.split(".")) for base in sys.path]
    found = [name for base in bases for name in (base + ".py", os.path.join(base, "__init__.py")) if os.path.isfile(name)]
    path = found[0] if found else None
    if path is None:
        extra = os.environ.get("PYTHONPATH", "")
        problems.append(f"there is no module {module} in {here}" + (f" nor on PYTHONPATH {extra}" if extra else ""))
    else:
        tree = trees[path] if path in trees else parse(path)
        local = {os.path.splitext(name)[0] for name in os.listdir(here)}
        bound = set()
        for node in ast.walk(tree) if tree else []:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        for node in tree.body if tree else []:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for top in {name.split(".")[0] for name in names}:
                if top not in local and importlib.util.find_spec(top) is None:
                    problems.append(f"{os.path.relpath(path, here)} imports {top}, which is not installed in the image: add it to libraries.list")
        if tree and attr not in bound and "*" not in bound:
            problems.append(f"{os.path.relpath(path, here)} defines no {attr}")
print(json.dumps({"problems": problems}))
"#;

#[derive(Deserialize)]
struct Found {
    problems: Vec<String>,
}

/// Fails with the reasons when the image `id`, configured as `config`,
/// cannot start its app.
pub fn check(engine: &Engine, id: &str, config: &ImageConfig) -> Result<()> {
    let (app, by_env) = app_of(config).unwrap_or_default();
    let args = ["-c", CHECK, &app].into_iter().chain(by_env.then_some("env"));
    let said =
        engine.run_once(id, "python", &args.collect::<Vec<_>>()).context("cannot check the image with its python")?;
    let found: Found = serde_json::from_str(&said).with_context(|| format!("cannot read the image check `{said}`"))?;
    if !found.problems.is_empty() {
        let app = if app.is_empty() { String::new() } else { format!(" {app}") };
        bail!("The image cannot start its app{app}: {}.", found.problems.join("; "));
    }
    Ok(())
}

/// `MODULE:ATTR` as the image names it to uvicorn: on the command line
/// (uvicorn's or gunicorn's), or in `UVICORN_APP`, as our Dockerfile sets
/// it; and whether only `UVICORN_APP` names it.
fn app_of(config: &ImageConfig) -> Option<(String, bool)> {
    let words = config.entrypoint.iter().chain(config.cmd.iter()).flatten().flat_map(|arg| arg.split_whitespace());
    let in_command = words.filter(|word| !word.starts_with('-')).find(|word| is_app_reference(word));
    match in_command {
        Some(app) => Some((app.to_string(), false)),
        None => config.env("UVICORN_APP").filter(|app| is_app_reference(app)).map(|app| (app.to_string(), true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(cmd: &[&str]) -> ImageConfig {
        ImageConfig { cmd: Some(cmd.iter().map(|s| s.to_string()).collect()), ..ImageConfig::default() }
    }

    #[test]
    fn the_app_is_read_from_the_command() {
        let ours = config(&["python", "-m", "uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]);
        assert_eq!(app_of(&ours), Some(("main:app".to_string(), false)));
        let shell = config(&["/bin/sh", "-c", "gunicorn -k uvicorn.workers.UvicornWorker app.main:api -b 0.0.0.0:80"]);
        assert_eq!(app_of(&shell), Some(("app.main:api".to_string(), false)));
        assert_eq!(app_of(&config(&["python", "serve.py", "--bind", "0.0.0.0:8000"])), None);
        let by_env =
            ImageConfig { env: Some(vec!["UVICORN_APP=app.main:app".into()]), ..config(&["python", "-m", "uvicorn"]) };
        assert_eq!(app_of(&by_env), Some(("app.main:app".to_string(), true)), "only uvicorn 0.24 reads it");
    }
}

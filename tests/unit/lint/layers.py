#!/usr/bin/env python3
"""Layering lint over the library folders (suite unit). Checks, from the source text alone:
  (a) no include cycle among the project's files (file-level graph of #include);
  (b) arrows only point down: cli -> inspect -> vmm -> devices -> validate -> pinning -> memory ->
      guest -> common. A folder may include its own files and lower folders'; guest/ (a freestanding
      image) only guest/, which holds the protocols it speaks (abi.h, dma_abi.h); nothing outside
      cli/ includes cli/. tests/ and bench/ are not checked: they may include anything;
  (c) no CLI flag (--word) in a string literal of memory/ pinning/ validate/ devices/ vmm/ inspect/:
      a library serves callers other than 'daxvm run'. Comments may name flags.
Prints one line per violation (file:line: what) and exits 1 if there is any, else 0.

usage: layers.py [ROOT]   (ROOT: the source tree; default: two folders above this script's)"""
import os
import re
import sys

# Layers, lowest first; a folder may include its own rank or lower.
LAYERS = ['common', 'guest', 'memory', 'pinning', 'validate', 'devices', 'vmm', 'inspect', 'cli']
RANK = {d: i for i, d in enumerate(LAYERS)}
NO_FLAGS_IN = ['memory', 'pinning', 'validate', 'devices', 'vmm', 'inspect']
SOURCE_EXT = ('.c', '.h', '.S')
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
FLAG = re.compile(r'--[a-z][a-z0-9-]*')


def sources(root):
    """Project-relative paths of every source file in the layer folders, sorted."""
    out = []
    for d in LAYERS:
        for base, dirs, files in os.walk(os.path.join(root, d)):
            dirs.sort()
            for f in sorted(files):
                if f.endswith(SOURCE_EXT):
                    out.append(os.path.relpath(os.path.join(base, f), root))
    return out


def includes(root, rel):
    """[(line, kind, spelled, resolved)] for each #include; resolved is a project-relative path
    of an existing file (quote form: the including folder first, then ROOT), else None."""
    out = []
    with open(os.path.join(root, rel), errors='replace') as f:
        for no, text in enumerate(f, 1):
            m = INCLUDE.match(text)
            if not m:
                continue
            kind, spelled = m.groups()
            dirs = ([os.path.dirname(rel)] if kind == '"' else []) + ['']
            resolved = None
            for d in dirs:
                cand = os.path.normpath(os.path.join(d, spelled))
                if not cand.startswith('..') and os.path.isfile(os.path.join(root, cand)):
                    resolved = cand
                    break
            out.append((no, kind, spelled, resolved))
    return out


def top(rel):
    part = rel.split('/', 1)[0]
    return part if part in RANK and '/' in rel else None


def check_layers(rel, incs):
    src = top(rel)
    out = []
    for no, kind, spelled, resolved in incs:
        target = resolved or os.path.normpath(spelled)
        dst = top(target)
        if dst is None:
            continue	# a system or build-tree header outside the layer folders
        if src == 'guest':
            if dst != 'guest':
                out.append('%s:%d: guest/ includes %s: the guest may include only guest/'
                           % (rel, no, target))
        elif dst == 'cli' and src != 'cli':
            out.append('%s:%d: %s/ includes %s: nothing outside cli/ includes cli/' % (rel, no, src, target))
        elif RANK[dst] > RANK[src]:
            out.append('%s:%d: upward include: %s/ includes %s (%s/ is above %s/; layers, top first: %s)'
                       % (rel, no, src, target, dst, src, ' -> '.join(reversed(LAYERS))))
    return out


def cycles(graph, lines):
    """Tarjan's strongly connected components; one violation per component with a cycle."""
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    out = []
    for comp in comps:
        path = shortest_cycle(graph, comp[0], set(comp))
        out.append('%s:%d: include cycle: %s' % (path[0], lines[(path[0], path[1])], ' -> '.join(path)))
    return out


def shortest_cycle(graph, start, members):
    """start -> ... -> start, the shortest way round inside one strongly connected component."""
    prev, queue = {}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v]):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    raise AssertionError('no cycle through %s' % start)


def string_literals(text):
    """(line, content) of each string literal in C source, skipping comments and char literals."""
    i, n, line, out = 0, len(text), 1, []
    while i < n:
        c = text[i]
        if c == '\n':
            line += 1
            i += 1
        elif text.startswith('//', i):
            while i < n and text[i] != '\n':
                i += 1
        elif text.startswith('/*', i):
            end = text.find('*/', i + 2)
            end = n if end < 0 else end + 2
            line += text.count('\n', i, end)
            i = end
        elif c in '"\'':
            start, j = line, i + 1
            while j < n and text[j] != c:
                if text[j] == '\\' and j + 1 < n:
                    if text[j + 1] == '\n':
                        line += 1
                    j += 2
                    continue
                if text[j] == '\n':	# unterminated: stop at the end of the line
                    break
                j += 1
            if c == '"':
                out.append((start, text[i + 1:j]))
            i = j + 1
        else:
            i += 1
    return out


def check_flags(root, rel):
    if top(rel) not in NO_FLAGS_IN or not rel.endswith(('.c', '.h')):
        return []
    with open(os.path.join(root, rel), errors='replace') as f:
        text = f.read()
    out = []
    for line, s in string_literals(text):
        for flag in sorted(set(FLAG.findall(s))):
            out.append('%s:%d: CLI flag %s in a library string: "%s"' % (rel, line, flag, s))
    return out


def lint(root):
    files = sources(root)
    violations, graph, lines, nincs = [], {}, {}, 0
    for rel in files:
        incs = includes(root, rel)
        nincs += len(incs)
        graph.setdefault(rel, set())
        for no, kind, spelled, resolved in incs:
            if resolved and top(resolved):
                graph[rel].add(resolved)
                lines.setdefault((rel, resolved), no)
        violations += check_layers(rel, incs)
        violations += check_flags(root, rel)
    violations += cycles(graph, lines)
    return files, nincs, violations


def main():
    if len(sys.argv) > 2:
        print(__doc__)
        return 1
    root = sys.argv[1] if len(sys.argv) == 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                               '..', '..', '..')
    files, nincs, violations = lint(os.path.abspath(root))
    for v in violations:
        print(v)
    if not files:
        print('layers: no source file under %s in %s' % (root, ' '.join(LAYERS)))
        return 1
    print('layers: %d files, %d includes: %s' % (len(files), nincs, '%d violations' % len(violations)
                                                 if violations else 'no cycle, no upward include, '
                                                 'no CLI flag in a library string'))
    return 1 if violations else 0


if __name__ == '__main__':
    sys.exit(main())

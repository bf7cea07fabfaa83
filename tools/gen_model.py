#!/usr/bin/env python3
"""gen_model.py - turn the FHIR R4 StructureDefinitions into C tables.

Usage: gen_model.py PACKAGE_DIR OUT_C
PACKAGE_DIR is the unpacked npm package hl7.fhir.r4.examples@4.0.1 (its
StructureDefinition-*.json files). The output is src/fhir/model_gen.c, which
is committed; CI regenerates it and fails if it differs (tools/check_generated).

Every base type (primitive, complex, resource; derivation = specialization)
becomes a row of fhir_types; every element becomes a row of fhir_elements,
with choice elements value[x] expanded to one row per allowed type
(valueQuantity, valueString, ...) sharing a choice-group number; a required
choice has min 1 on every alternative (one of them must be present). Backbone
elements become anonymous types named by their path ("Patient.contact").
"""
import glob
import json
import os
import sys

PRIMS = {
    'boolean': 'BOOLEAN', 'integer': 'INTEGER', 'positiveInt': 'POSITIVE_INT',
    'unsignedInt': 'UNSIGNED_INT', 'decimal': 'DECIMAL', 'string': 'STRING', 'code': 'CODE',
    'id': 'ID', 'uri': 'URI', 'url': 'URL', 'canonical': 'CANONICAL', 'oid': 'OID',
    'uuid': 'UUID', 'date': 'DATE', 'dateTime': 'DATETIME', 'instant': 'INSTANT',
    'time': 'TIME', 'base64Binary': 'BASE64', 'markdown': 'MARKDOWN', 'xhtml': 'XHTML',
}
FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type'


def value_set_systems(pkg):
    """ValueSet url -> its one code system, when it includes whole or listed codes of one."""
    systems = {}
    for path in sorted(glob.glob(os.path.join(pkg, 'ValueSet-*.json'))):
        with open(path, encoding='utf-8') as f:
            vs = json.load(f)
        inc = vs.get('compose', {}).get('include', [])
        found = {i.get('system') for i in inc}
        if 'url' in vs and inc and len(found) == 1 and None not in found and \
                not any('valueSet' in i for i in inc):
            systems[vs['url']] = found.pop()
    return systems


def code_system(e, vs_systems):
    """The implicit system of a code element bound (required) to one code system, or None."""
    b = e.get('binding', {})
    if b.get('strength') != 'required' or 'valueSet' not in b:
        return None
    return vs_systems.get(b['valueSet'].split('|')[0])


def load(pkg):
    sds = {}
    for path in sorted(glob.glob(os.path.join(pkg, 'StructureDefinition-*.json'))):
        with open(path, encoding='utf-8') as f:
            sd = json.load(f)
        if sd.get('kind') == 'logical':
            continue
        if sd.get('derivation', 'specialization') != 'specialization':
            continue
        sds[sd['type']] = sd
    return sds


def type_code(t, path, is_resource):
    code = t['code']
    if code.startswith('http://hl7.org/fhirpath/System.'):
        for ext in t.get('extension', []):
            if ext.get('url') == FHIR_TYPE_EXT:
                code = ext['valueUrl']
                break
        else:
            code = 'string'
    # FHIR R4 resource.html: Resource.id is of type id (the snapshot says string).
    if is_resource and path.endswith('.id') and path.count('.') == 1 and code == 'string':
        return 'id'
    return code


def build(sds, vs_systems):
    types = {}   # name -> dict(kind, prim, elements: list)
    order = []

    def add_type(name, kind, prim=None):
        types[name] = {'kind': kind, 'prim': prim, 'elements': []}
        order.append(name)

    for name, sd in sorted(sds.items()):
        kind = sd['kind']
        if kind == 'primitive-type':
            add_type(name, 'PRIMITIVE', PRIMS[name])
        elif kind == 'complex-type':
            add_type(name, 'COMPLEX')
        else:
            add_type(name, 'RESOURCE' if not sd.get('abstract') else 'ABSTRACT')
    add_type('Resource*', 'ANY_RESOURCE')

    pending_refs = []
    choice_names = ['']
    for name, sd in sorted(sds.items()):
        if sd['kind'] == 'primitive-type':
            continue
        elements = sd['snapshot']['element']
        # Paths that have children are backbone types.
        parents = {e['path'].rsplit('.', 1)[0] for e in elements if '.' in e['path']}
        for e in elements:
            path = e['path']
            if '.' not in path:
                continue
            parent, leaf = path.rsplit('.', 1)
            owner = parent if parent != name else name
            if owner not in types:
                add_type(owner, 'BACKBONE')
            emin = int(e.get('min', 0))
            summ = 1 if e.get('isSummary') else 0
            emax = e.get('max', '*')
            emax = 0 if emax == '*' else int(emax)
            if emax == 0 and e.get('max') == '0':
                continue  # prohibited element
            if 'contentReference' in e:
                target = e['contentReference'][1:]
                types[owner]['elements'].append(
                    {'name': leaf, 'type': target, 'choice': 0, 'min': emin, 'max': emax,
                     'summary': summ})
                pending_refs.append(target)
                continue
            codes = [type_code(t, path, sd['kind'] == 'resource') for t in e.get('type', [])]
            if leaf.endswith('[x]'):
                base = leaf[:-3]
                choice_names.append(base + '[x]')
                group = len(choice_names) - 1
                for code in codes:
                    tname = 'Resource*' if code == 'Resource' else code
                    types[owner]['elements'].append({
                        'name': base + code[0].upper() + code[1:], 'type': tname,
                        'choice': group, 'min': emin, 'max': 1, 'summary': summ})
                continue
            if path in parents:
                tname = path  # backbone: its own type, filled as its children come
                if tname not in types:
                    add_type(tname, 'BACKBONE')
            else:
                assert len(codes) == 1, path
                tname = 'Resource*' if codes[0] == 'Resource' else codes[0]
            system = code_system(e, vs_systems) if tname == 'code' else None
            types[owner]['elements'].append(
                {'name': leaf, 'type': tname, 'choice': 0, 'min': emin, 'max': emax,
                 'summary': summ, 'system': system})
    for t in pending_refs:
        assert t in types, t
    return types, order, choice_names


def emit(types, order, choice_names, out):
    index = {name: i for i, name in enumerate(order)}
    lines = []
    w = lines.append
    w('/*')
    w(' * model_gen.c - GENERATED by tools/gen_model.py from the FHIR R4 (4.0.1)')
    w(' * StructureDefinitions. Do not edit; run `make generate`.')
    w(' */')
    w('/* clang-format off */')
    w('#include "fhir/model.h"')
    w('')
    w('const struct fhir_element fhir_elements[] = {')
    first = {}
    n = 0
    for name in order:
        els = sorted(types[name]['elements'], key=lambda e: e['name'].encode())
        first[name] = n
        for e in els:
            system = '"%s"' % e['system'] if e.get('system') else 'NULL'
            w('    {"%s", %d, %d, %d, %d, %d, %s},' % (e['name'], index[e['type']], e['choice'],
                                                      e['min'], e['max'], e['summary'], system))
            n += 1
    w('};')
    w('const size_t fhir_element_count = %d;' % n)
    w('')
    w('const char *const fhir_choice_names[] = {')
    for c in choice_names:
        w('    "%s",' % c)
    w('};')
    w('')
    w('const struct fhir_type fhir_types[] = {')
    for name in order:
        t = types[name]
        prim = 'FHIR_PRIM_' + t['prim'] if t['prim'] else 'FHIR_PRIM_NONE'
        w('    {"%s", FHIR_KIND_%s, %s, %d, %d},' % (
            name, t['kind'], prim, first[name], len(t['elements'])))
    w('};')
    w('const size_t fhir_type_count = %d;' % len(order))
    w('')
    resources = sorted((n for n in order if types[n]['kind'] == 'RESOURCE'), key=str.encode)
    w('/* Concrete resource types, sorted by name, as indices into fhir_types. */')
    w('const uint16_t fhir_resource_types[] = {')
    for r in resources:
        w('    %d, /* %s */' % (index[r], r))
    w('};')
    w('const size_t fhir_resource_type_count = %d;' % len(resources))
    out.write('\n'.join(lines) + '\n')


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: gen_model.py PACKAGE_DIR OUT_C')
    types, order, choice_names = build(load(sys.argv[1]), value_set_systems(sys.argv[1]))
    with open(sys.argv[2], 'w', encoding='utf-8') as out:
        emit(types, order, choice_names, out)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""The SQL a server ran, taken from PostgreSQL's statement log and written as a pgbench script.

scripts/bench.sh turns `log_statement = 'all'` on for one request, then hands the log written
meanwhile to this script on stdin (the default `log_line_prefix`, `%m [%p] `, is assumed):

  statements.py statement PATTERN
      the first statement run with parameters that PATTERN (a regular expression) finds, the
      values it was given written in (as quoted literals), as one line
  statements.py transaction PATTERN [VALUE=VARIABLE ...]
      the whole transaction (BEGIN to COMMIT, one backend) that ran a statement PATTERN finds; each parameter whose value is one of the VALUEs becomes pgbench's :VARIABLE
      (an array's elements too), every other keeps the value it was given

Exits with status 1 and a message when nothing matches.
"""

import re
import sys

# Each log entry starts with its time; a statement continues on lines that start with a tab.
ENTRY_START = re.compile(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
PROCESS = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] ")
EXECUTE = re.compile(r"LOG:  execute [^:]*: (.*)", re.S)
SIMPLE = re.compile(r"LOG:  statement: (.*)", re.S)
PARAMETERS = re.compile(r"DETAIL:  parameters: (.*)", re.S)
PARAMETER = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
INTEGER_ARRAY = re.compile(r"'\{(-?\d+(?:,-?\d+)*)\}'")
# sqlx asks for the types it has not met yet on a connection: not part of the work.
TYPE_LOOKUP = re.compile(r"\bpg_type\b")


def statements(log):
    """(process, SQL, {number: literal}) for every statement in the log, in order."""
    entries = ENTRY_START.split(log)
    found = []
    for index, entry in enumerate(entries):
        process = PROCESS.match(entry)
        if not process:
            continue
        if executed := EXECUTE.search(entry):
            # A statement's parameters are the DETAIL line right after it, in the same message.
            following = entries[index + 1] if index + 1 < len(entries) else ""
            parameters = PARAMETERS.search(following)
            values = dict(PARAMETER.findall(parameters[1])) if parameters else {}
            found.append((process[1], executed[1], values))
        elif simple := SIMPLE.search(entry):
            # A simple query may carry several statements (`begin; set local …`): the
            # server's are short and have no semicolon inside a literal.
            for part in simple[1].split(";"):
                if part.strip():
                    found.append((process[1], part, {}))
    return found


def for_pgbench(literal):
    """A literal pgbench passes as it is: pgbench takes every `:name` (digits too) for a
    variable, even inside quotes, so a literal with a colon is written as a Unicode-escaped
    string instead."""
    if ":" not in literal or not literal.startswith("'"):
        return literal
    return "U&" + literal.replace("\\", "\\005C").replace(":", "\\003A")


def one_line(sql):
    return " ".join(sql.split())


def with_values(sql, values, replace=for_pgbench):
    return re.sub(r"\$(\d+)\b", lambda match: replace(values[match[1]]), sql)


def statement(log, pattern):
    for _, sql, values in statements(log):
        if values and re.search(pattern, sql, re.S):
            return one_line(with_values(sql, values)) + ";"
    return None


def transaction(log, pattern, variables):
    # pgbench sends its variables as parameters of unknown type: each says it is a bigint.
    def variable(value):
        return ":" + variables[value] + "::int8"

    def replace(literal):
        if literal[1:-1] in variables:
            return variable(literal[1:-1])
        array = INTEGER_ARRAY.fullmatch(literal)
        if array and any(value in variables for value in array[1].split(",")):
            elements = [
                variable(value) if value in variables else value
                for value in array[1].split(",")
            ]
            return "array[" + ", ".join(elements) + "]::int8[]"
        return for_pgbench(literal)

    open_by_process = {}
    for process, sql, values in statements(log):
        command = one_line(sql).rstrip(";").upper()
        if command == "BEGIN":
            open_by_process[process] = []
        elif command == "COMMIT" and process in open_by_process:
            run = open_by_process.pop(process)
            if any(re.search(pattern, line) for line in run):
                return "BEGIN;\n" + "\n".join(run) + "\nCOMMIT;"
        elif process in open_by_process and not TYPE_LOOKUP.search(sql):
            open_by_process[process].append(one_line(with_values(sql, values, replace)) + ";")
    return None


def main(arguments):
    log = sys.stdin.read()
    if len(arguments) >= 2 and arguments[0] == "statement":
        found = statement(log, arguments[1])
    elif len(arguments) >= 2 and arguments[0] == "transaction":
        variables = dict(argument.split("=", 1) for argument in arguments[2:])
        found = transaction(log, arguments[1], variables)
    else:
        sys.exit(__doc__)
    if found is None:
        sys.exit(f"no {arguments[0]} with {arguments[1]!r} in PostgreSQL's log")
    print(found)


if __name__ == "__main__":
    main(sys.argv[1:])

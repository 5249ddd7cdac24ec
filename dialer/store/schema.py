"""The store's schema, as numbered migrations. This module owns every table.

A migration is applied once, in its own transaction, and records its number in
``PRAGMA user_version``; later features add migrations at the end, never edit old ones.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: sampling: surveys, waves, quota cells, frame imports, cases, releases, do-not-call.
    """
    CREATE TABLE survey (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE wave (
        id INTEGER PRIMARY KEY,
        survey_id INTEGER NOT NULL REFERENCES survey(id),
        number INTEGER NOT NULL CHECK (number >= 1),
        definition TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (survey_id, number)
    );
    CREATE TABLE cell (
        id INTEGER PRIMARY KEY,
        wave_id INTEGER NOT NULL REFERENCES wave(id),
        position INTEGER NOT NULL CHECK (position >= 0),
        district TEXT NOT NULL,
        age_band TEXT NOT NULL,
        sex TEXT NOT NULL,
        population INTEGER NOT NULL CHECK (population >= 0),
        target INTEGER NOT NULL CHECK (target >= 0),
        closed_at TEXT,
        UNIQUE (wave_id, position),
        UNIQUE (wave_id, district, age_band, sex)
    );
    CREATE TABLE frame_import (
        id INTEGER PRIMARY KEY,
        wave_id INTEGER NOT NULL REFERENCES wave(id),
        source TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        rows_read INTEGER NOT NULL,
        rows_imported INTEGER NOT NULL,
        rows_rejected INTEGER NOT NULL,
        already_in_frame INTEGER NOT NULL,
        rejects_by_reason TEXT NOT NULL
    );
    CREATE TABLE dnc_number (
        phone TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        added_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE release (
        id INTEGER PRIMARY KEY,
        wave_id INTEGER NOT NULL REFERENCES wave(id),
        seed TEXT NOT NULL,
        created_at TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size >= 0)
    );
    CREATE TABLE release_cell (
        release_id INTEGER NOT NULL REFERENCES release(id),
        cell_id INTEGER NOT NULL REFERENCES cell(id),
        need INTEGER NOT NULL,
        expected_yield REAL NOT NULL,
        outstanding INTEGER NOT NULL,
        available INTEGER NOT NULL,
        requested INTEGER NOT NULL,
        drawn INTEGER NOT NULL,
        PRIMARY KEY (release_id, cell_id)
    ) WITHOUT ROWID;
    CREATE TABLE sample_case (
        id INTEGER PRIMARY KEY,
        wave_id INTEGER NOT NULL REFERENCES wave(id),
        phone TEXT NOT NULL,
        cell_id INTEGER NOT NULL REFERENCES cell(id),
        age INTEGER,
        attributes TEXT,
        import_id INTEGER NOT NULL REFERENCES frame_import(id),
        source_line INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'frame'
            CHECK (state IN ('frame', 'released', 'in_progress', 'finished', 'withdrawn')),
        release_id INTEGER REFERENCES release(id),
        reserved_cell_id INTEGER REFERENCES cell(id),
        result TEXT
            CHECK (result IN ('complete', 'refusal', 'ineligible', 'over_quota', 'other')),
        verified_cell_id INTEGER REFERENCES cell(id),
        finished_at TEXT,
        UNIQUE (wave_id, phone),
        CHECK ((state = 'finished') = (result IS NOT NULL)),
        CHECK ((state = 'in_progress') = (reserved_cell_id IS NOT NULL)),
        CHECK (result IS NOT 'complete' OR verified_cell_id IS NOT NULL),
        CHECK ((state = 'frame') = (release_id IS NULL))
    );
    CREATE INDEX sample_case_cell_state ON sample_case (wave_id, cell_id, state);
    CREATE INDEX sample_case_phone ON sample_case (phone);
    CREATE INDEX sample_case_release ON sample_case (release_id);
    """,
    # 2: dialling: one row per call attempt, with its outcome and AAPOR code.
    """
    CREATE TABLE attempt (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES sample_case(id),
        call_id TEXT NOT NULL UNIQUE,
        started_at TEXT NOT NULL,
        answered_at TEXT,
        connected_at TEXT,
        ended_at TEXT,
        outcome TEXT CHECK (outcome IN ('connected', 'busy', 'no_answer', 'congestion',
                                        'failed', 'machine', 'abandoned')),
        disposition TEXT,
        aapor_code TEXT,
        seat TEXT,
        channel TEXT,
        callback_at TEXT,
        CHECK ((ended_at IS NULL) = (outcome IS NULL))
    );
    CREATE INDEX attempt_case ON attempt (case_id, started_at);
    -- A number is never dialled twice at once, whatever the dialer (or a restart) does.
    CREATE UNIQUE INDEX attempt_one_live_per_case ON attempt (case_id) WHERE ended_at IS NULL;
    """,
    # 3: interviews' answers, anonymous: a random id, the respondent's verified district, age
    # band and sex, and nothing else that another table holds. No case, call, number or time:
    # WITHOUT ROWID, so not even the insertion order is kept (tests/test_responses.py).
    """
    CREATE TABLE response (
        id TEXT PRIMARY KEY,
        wave_id INTEGER NOT NULL REFERENCES wave(id),
        district TEXT NOT NULL,
        age_band TEXT NOT NULL,
        sex TEXT NOT NULL,
        questionnaire TEXT NOT NULL,
        answers TEXT NOT NULL CHECK (json_valid(answers))
    ) WITHOUT ROWID;
    """,
    # 4: the operator's note on an attempt (e.g. who to ask for at a callback).
    """
    ALTER TABLE attempt ADD COLUMN note TEXT;
    """,
    # 5: a release's numbers held back: released, unfinished and not callable for a long while
    # (after an abandoned call, a callback days ahead), not counted among those outstanding.
    """
    ALTER TABLE release_cell ADD COLUMN held_back INTEGER NOT NULL DEFAULT 0;
    """,
    # 6: the per-cell counts read at every tick and every interview's start and end, by
    # indexes over the few cases they count, not the whole frame (72 ms a read on a
    # 20,000-number frame, most of it in three queries; each state's count read every case).
    """
    CREATE INDEX sample_case_state_cell ON sample_case (wave_id, state, cell_id);
    CREATE INDEX sample_case_completes ON sample_case (wave_id, verified_cell_id)
        WHERE result = 'complete';
    CREATE INDEX sample_case_frame_completes ON sample_case (wave_id, cell_id)
        WHERE result = 'complete';
    CREATE INDEX sample_case_reserved ON sample_case (wave_id, reserved_cell_id)
        WHERE state = 'in_progress';
    CREATE INDEX sample_case_results ON sample_case (wave_id, result) WHERE result IS NOT NULL;
    """,
    # 7: a machine verdict's estimated share of a person hung up on (an abandon, to Ofcom), as
    # counted when it was made: a restart or a later estimate does not re-weigh the past.
    """
    ALTER TABLE attempt ADD COLUMN machine_people REAL
        CHECK (machine_people IS NULL OR machine_people BETWEEN 0 AND 1);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

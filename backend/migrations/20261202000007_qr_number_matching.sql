-- QR sign-in against phishing and fixation: the desktop shows a number, the phone must pick
-- it among decoys (a link forwarded in a chat cannot be approved blindly), and the first
-- signed-in user to open a request is the only one who may see, approve or decline it.
alter table qr_logins
    add column match_code smallint,
    add column match_choices smallint[],
    add column viewed_by bigint references users (id) on delete cascade;

-- Requests open while this migrates (they live two minutes) cannot be matched: they expire.
update qr_logins set match_code = 0, match_choices = '{}', expires_at = least(expires_at, now())
where match_code is null;

alter table qr_logins
    alter column match_code set not null,
    alter column match_choices set not null,
    add constraint qr_logins_match_code_range check (match_code between 0 and 99);

import { describe, expect, it } from 'vitest';
import { toAsciiText, toTmoCode, toTmoText } from './text.ts';

describe('toTmoText', () => {
  it.each([
    ['Caffè Società Srl', 40, 'CAFFE SOCIETA SRL'],
    ['Straße', 40, 'STRASSE'],
    ['Ærø Æbleskiver', 40, 'AERO AEBLESKIVER'],
    ['Łódź Kraków', 40, 'LODZ KRAKOW'],
    ['Œuvre ½ naïve', 40, 'OEUVRE 1/2 NAIVE'],
    ['L\u2019Osteria \u201CDa Mario\u201D', 40, 'L\'OSTERIA "DA MARIO"'],
    ['Bar \u2013 Caffè', 40, 'BAR - CAFFE'],
    ['  tab\tand\nnewline  ', 40, 'TAB AND NEWLINE'],
    ['non\u00A0breaking', 40, 'NON BREAKING'],
    ['emoji ☕ café', 40, 'EMOJI CAFE'],
    ['漢字 shop', 40, 'SHOP'],
    ['Prezzo 5€', 40, 'PREZZO 5EUR'],
    ['A'.repeat(45), 40, 'A'.repeat(40)],
    ['ß'.repeat(21), 40, 'S'.repeat(40)],
    ['Via Giuseppe Garibaldi numero civico 123 interno 4', 40, 'VIA GIUSEPPE GARIBALDI NUMERO CIVICO 123'],
    ['San Giovanni in Persiceto di Bologna', 25, 'SAN GIOVANNI IN PERSICETO'],
    ['Reggio nell Emilia Centro', 24, 'REGGIO NELL EMILIA CENTR'],
    ['truncate at space here', 9, 'TRUNCATE'],
    ['', 40, ''],
  ])('when %j is sent to TMO with max %i, then it reads %j', (input, max, expected) => {
    const out = toTmoText(input, max);
    expect(out).toBe(expected);
    expect(out).toMatch(/^[\x20-\x7E]*$/);
    expect(out.length).toBeLessThanOrEqual(max);
  });
});

describe('toAsciiText', () => {
  it.each([
    ['Società', 'Societa'],
    ['Ångström', 'Angstrom'],
    ['ﬁne', 'fine'],
    ['Ø', 'O'],
    ['đ', 'd'],
  ])('when %j is transliterated, then case is kept: %j', (input, expected) => {
    expect(toAsciiText(input)).toBe(expected);
  });
});

describe('toTmoCode', () => {
  it.each([
    ['mi', 'MI'],
    ['it', 'IT'],
    ['123456789012', '123456789012'],
    [' 20100 ', '20100'],
  ])('when code %j is sent to TMO, then it is %j and never truncated', (input, expected) => {
    expect(toTmoCode(input)).toBe(expected);
  });
});

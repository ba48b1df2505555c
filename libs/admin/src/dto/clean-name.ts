import { Transform } from 'class-transformer';
import { registerDecorator, ValidationArguments } from 'class-validator';

const CONTROL = /[\p{Cc}\p{Cs}\u2028\u2029]/u;

/** True for a trimmed, well-formed (no lone surrogates), control-free name of 1..max characters. */
export function isCleanName(value: unknown, max: number): boolean {
  if (typeof value !== 'string') return false;
  if (CONTROL.test(value)) return false; // \p{Cs} also catches lone surrogates
  const length = [...value].length;
  return length >= 1 && length <= max;
}

/** A human-readable name: trimmed, 1..max characters, no control characters or broken UTF-16. */
export function CleanName(max = 200): PropertyDecorator {
  return (target: object, propertyKey: string | symbol) => {
    Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))(target, propertyKey);
    registerDecorator({
      name: 'cleanName',
      target: target.constructor,
      propertyName: propertyKey as string,
      validator: {
        validate: (value: unknown) => isCleanName(value, max),
        defaultMessage: (args: ValidationArguments) =>
          `${args.property} must be a non-empty string of at most ${max} characters without control characters`,
      },
    });
  };
}

namespace FsdNet.Autodiff;

/// <summary>Three ints by value (dims or strides of a rank-3 walk), so shape plans allocate nothing.</summary>
internal struct Int3
{
    public int X;
    public int Y;
    public int Z;

    public Int3(int x, int y, int z) => (X, Y, Z) = (x, y, z);

    public int this[int i]
    {
        readonly get => i switch { 0 => X, 1 => Y, _ => Z };
        set
        {
            switch (i)
            {
                case 0: X = value; break;
                case 1: Y = value; break;
                default: Z = value; break;
            }
        }
    }
}
